// The oracle for engine/detect/hog_detector.c and fhog.c: runs dlib's own
// frontal face detector on images and writes what the C test compares.
//
//   compare_detect [--model FILE.svm] [--upsample N] [--threshold T]
//                  [--fhog] [--rgb] [--repeat K] OUT_DIR IMAGE...
//
// For each image (any format dlib reads) it writes OUT_DIR/imgNNN.png, the
// pixels exactly as dlib decoded them (RGB), and appends to
// OUT_DIR/detections.txt one line per image:
//   imgNNN.png grey|rgb W H UPSAMPLE THRESHOLD N ms  l t r b score weight_index  (N times)
// The detector runs on the grey image (dlib's rgb -> unsigned char
// conversion), or on the RGB one with --rgb. Upsampling follows dlib's
// Python binding: pyramid_up with pyramid_down<2> N times, detect, then
// rect_down the boxes N times. ms is the best of K runs (default 1).
// With --fhog it also writes OUT_DIR/imgNNN.fhog: dlib's
// extract_fhog_features(image, hog, 8, 10, 10) of the same (grey or RGB)
// image as int32 rows, int32 cols, then 31 planes of rows x cols float32.
//
// Build (Debian's libdlib-dev) for plain x86-64, no -march: the C reference
// reproduces dlib's SSE2 arithmetic. One line:
//   g++ -O2 -std=c++14 -DDLIB_JPEG_SUPPORT -DDLIB_PNG_SUPPORT compare_detect.cpp
//       $(pkg-config --libs dlib-1) -o compare_detect
#include <dlib/image_io.h>
#include <dlib/image_processing.h>
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/image_transforms.h>

#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

template <typename image_type>
static void write_fhog(const image_type &img, const std::string &path) {
  dlib::array<dlib::array2d<float>> hog;
  dlib::extract_fhog_features(img, hog, 8, 10, 10);
  FILE *f = std::fopen(path.c_str(), "wb");
  if (!f) throw dlib::error("cannot write " + path);
  int32_t rows = hog[0].nr(), cols = hog[0].nc();
  std::fwrite(&rows, 4, 1, f);
  std::fwrite(&cols, 4, 1, f);
  for (unsigned long o = 0; o < hog.size(); ++o)
    for (long r = 0; r < rows; ++r)
      std::fwrite(&hog[o][r][0], 4, cols, f);
  std::fclose(f);
}

template <typename image_type>
static double detect(dlib::frontal_face_detector &det, const image_type &in, int upsample,
                     double threshold, int repeat, std::vector<dlib::rect_detection> &dets) {
  double best = 1e30;
  for (int k = 0; k < repeat; ++k) {
    auto t0 = std::chrono::steady_clock::now();
    image_type img;
    dlib::assign_image(img, in);
    dlib::pyramid_down<2> pyr;
    for (int i = 0; i < upsample; ++i)
      dlib::pyramid_up(img, pyr);
    det(img, dets, threshold);
    for (auto &d : dets)
      d.rect = pyr.rect_down(d.rect, upsample);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                    .count();
    if (ms < best) best = ms;
  }
  return best;
}

int main(int argc, char **argv) {
  std::string model, out_dir;
  int upsample = 0, repeat = 1;
  double threshold = 0;
  bool fhog = false, rgb = false;
  int i = 1;
  for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; ++i) {
    std::string a = argv[i];
    if (a == "--model" && i + 1 < argc) model = argv[++i];
    else if (a == "--upsample" && i + 1 < argc) upsample = std::atoi(argv[++i]);
    else if (a == "--threshold" && i + 1 < argc) threshold = std::atof(argv[++i]);
    else if (a == "--repeat" && i + 1 < argc) repeat = std::atoi(argv[++i]);
    else if (a == "--fhog") fhog = true;
    else if (a == "--rgb") rgb = true;
    else {
      std::fprintf(stderr, "compare_detect: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  if (argc - i < 2) {
    std::fprintf(stderr,
                 "usage: %s [--model F] [--upsample N] [--threshold T] [--fhog] [--rgb] "
                 "[--repeat K] OUT_DIR IMAGE...\n",
                 argv[0]);
    return 2;
  }
  out_dir = argv[i++];
  mkdir(out_dir.c_str(), 0777); // an existing folder is fine
  try {
    dlib::frontal_face_detector det;
    if (model.empty()) det = dlib::get_frontal_face_detector();
    else dlib::deserialize(model) >> det;
    FILE *txt = std::fopen((out_dir + "/detections.txt").c_str(), "a");
    if (!txt) throw dlib::error("cannot write " + out_dir + "/detections.txt");
    for (int n = 0; i < argc; ++i, ++n) {
      dlib::array2d<dlib::rgb_pixel> img;
      dlib::load_image(img, argv[i]);
      char name[64];
      std::snprintf(name, sizeof name, "img%03d", n);
      dlib::save_png(img, out_dir + "/" + name + ".png");
      std::vector<dlib::rect_detection> dets;
      double ms;
      if (rgb) {
        ms = detect(det, img, upsample, threshold, repeat, dets);
        if (fhog) write_fhog(img, out_dir + "/" + name + ".fhog");
      } else {
        dlib::array2d<unsigned char> gray;
        dlib::assign_image(gray, img);
        ms = detect(det, gray, upsample, threshold, repeat, dets);
        if (fhog) write_fhog(gray, out_dir + "/" + name + ".fhog");
      }
      std::fprintf(txt, "%s.png %s %ld %ld %d %.17g %zu %.3f", name, rgb ? "rgb" : "grey",
                   img.nc(), img.nr(), upsample,
                   threshold, dets.size(), ms);
      for (const auto &d : dets)
        std::fprintf(txt, "  %ld %ld %ld %ld %.17g %lu", d.rect.left(), d.rect.top(),
                     d.rect.right(), d.rect.bottom(), d.detection_confidence, d.weight_index);
      std::fprintf(txt, "\n");
      std::printf("%s (%s): %zu faces, %.1f ms\n", name, argv[i], dets.size(), ms);
    }
    std::fclose(txt);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "compare_detect: %s\n", e.what());
    return 1;
  }
  return 0;
}
