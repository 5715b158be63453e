// Writes dlib's frontal face detector (get_frontal_face_detector(), an
// object_detector<scan_fhog_pyramid<pyramid_down<6>>>) to a file with
// dlib::serialize, the format engine/detect/hog_detector.c reads.
//
//   export_detector OUT.svm
//
// Build (Debian's libdlib-dev), one line:
//   g++ -O2 -std=c++14 export_detector.cpp $(pkg-config --libs dlib-1) -o export_detector
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/serialize.h>

#include <cstdio>
#include <string>

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT.svm\n", argv[0]);
    return 2;
  }
  try {
    dlib::frontal_face_detector detector = dlib::get_frontal_face_detector();
    std::string tmp = std::string(argv[1]) + ".tmp";
    dlib::serialize(tmp) << detector;
    if (std::rename(tmp.c_str(), argv[1]) != 0) {
      std::fprintf(stderr, "export_detector: cannot rename %s to %s\n", tmp.c_str(), argv[1]);
      return 1;
    }
  } catch (const std::exception &e) {
    std::fprintf(stderr, "export_detector: %s\n", e.what());
    return 1;
  }
  return 0;
}
