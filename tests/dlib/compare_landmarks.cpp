// The oracle for engine/detect/shape_predictor.c: runs dlib's own
// shape_predictor on the faces of an imglab XML file and writes what the C
// test needs to compare against it.
//
//   compare_landmarks MODEL.dat DATASET.xml OUT_DIR
//
// OUT_DIR (created if missing) receives imgNNN.png (the image exactly as dlib decoded it, RGB) and
// landmarks.txt, one line per face box:
//   imgNNN.png left top right bottom x0 y0 ... x67 y67
// The points are dlib's unrounded ones. dlib's full_object_detection rounds
// them to whole pixels; to recover the unrounded values this program asks the
// predictor for the leaf it chose in every tree (the operator() overload with
// a feature list) and sums those leaves itself, reading the model's public
// serialized parts with dlib::deserialize. It checks that the sum, rounded,
// equals dlib's rounded output, so the printed floats are dlib's.
//
// Build (Debian's libdlib-dev):
//   g++ -O2 -std=c++14 -DDLIB_JPEG_SUPPORT -DDLIB_PNG_SUPPORT compare_landmarks.cpp
//       $(pkg-config --libs dlib-1) -o compare_landmarks   (one line)
#include <dlib/data_io.h>
#include <dlib/image_io.h>
#include <dlib/image_processing.h>

#include <sys/stat.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

int main(int argc, char **argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s MODEL.dat DATASET.xml OUT_DIR\n", argv[0]);
    return 2;
  }
  try {
    dlib::shape_predictor sp;
    dlib::deserialize(argv[1]) >> sp;

    // The same file through the public serialized layout, for the leaf values.
    int version = 0;
    dlib::matrix<float, 0, 1> initial_shape;
    std::vector<std::vector<dlib::impl::regression_tree>> forests;
    {
      std::ifstream in(argv[1], std::ios::binary);
      dlib::deserialize(version, in);
      dlib::deserialize(initial_shape, in);
      dlib::deserialize(forests, in);
    }

    dlib::image_dataset_metadata::dataset data;
    dlib::image_dataset_metadata::load_image_dataset_metadata(data, argv[2]);
    std::string xml_dir = argv[2];
    size_t slash = xml_dir.rfind('/');
    xml_dir = slash == std::string::npos ? "." : xml_dir.substr(0, slash);

    std::string out_dir = argv[3];
    mkdir(argv[3], 0777); // an existing folder is fine
    FILE *txt = std::fopen((out_dir + "/landmarks.txt").c_str(), "w");
    if (!txt) {
      std::fprintf(stderr, "compare_landmarks: cannot write %s/landmarks.txt\n", argv[3]);
      return 1;
    }
    long faces = 0, mismatched = 0;
    double seconds = 0;
    for (size_t i = 0; i < data.images.size(); ++i) {
      dlib::array2d<dlib::rgb_pixel> img;
      std::string file = data.images[i].filename;
      if (file.empty() || file[0] != '/') file = xml_dir + "/" + file;
      dlib::load_image(img, file);
      char png[64];
      std::snprintf(png, sizeof png, "img%03zu.png", i);
      dlib::save_png(img, out_dir + "/" + png);
      for (const auto &box : data.images[i].boxes) {
        const dlib::rectangle &r = box.rect;
        std::vector<std::pair<unsigned long, int>> feats;
        auto t0 = std::chrono::steady_clock::now();
        dlib::full_object_detection det = sp(img, r, feats);
        seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

        dlib::matrix<float, 0, 1> shape = initial_shape;
        unsigned long offset = 0, k = 0;
        for (const auto &level : forests)
          for (const auto &tree : level) {
            shape += tree.leaf_values[feats[k++].first - offset];
            offset += tree.num_leaves();
          }
        const dlib::point_transform_affine to_img = dlib::impl::unnormalizing_tform(r);
        std::fprintf(txt, "%s %ld %ld %ld %ld", png, r.left(), r.top(), r.right(), r.bottom());
        for (unsigned long p = 0; p < det.num_parts(); ++p) {
          dlib::dpoint q = to_img(dlib::impl::location(shape, p));
          if (dlib::point(q) != det.part(p)) mismatched++;
          std::fprintf(txt, " %.9g %.9g", q.x(), q.y());
        }
        std::fputc('\n', txt);
        faces++;
      }
    }
    std::fclose(txt);
    std::printf("dlib: %ld faces, %.3f ms per face; unrounded reconstruction disagrees with "
                "dlib's rounded points at %ld of %ld points\n",
                faces, faces ? 1e3 * seconds / faces : 0.0, mismatched,
                faces * (long)sp.num_parts());
    return mismatched ? 1 : 0;
  } catch (std::exception &e) {
    std::fprintf(stderr, "compare_landmarks: %s\n", e.what());
    return 1;
  }
}
