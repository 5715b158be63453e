/* Host side of cl/detect/fhog.cl; the reference is ds_fhog_reference
 * (engine/detect/fhog.c), whose maths the kernels repeat. */
#include "engine/detect/fhog_cl.h"

#include "engine/detect/fhog.h"
#include "host/buffer.h"
#include "host/program.h"

void ds_fhog_workspace_release(ds_fhog_workspace *ws) {
  ds_buffer_release(&ws->orient);
  ds_buffer_release(&ws->mag);
  ds_buffer_release(&ws->part);
  ds_buffer_release(&ws->hist);
  ds_buffer_release(&ws->norm);
  ws->orient_bytes = ws->mag_bytes = ws->part_bytes = ws->hist_bytes = ws->norm_bytes = 0;
}

size_t ds_fhog_padded_pitch(int width, int channels) {
  return ((size_t)DS_FHOG_MARGIN + (size_t)width * channels + DS_FHOG_RIGHT_MARGIN + 15) / 16 * 16;
}

ds_status ds_fhog(ds_runtime *rt, ds_fhog_workspace *ws, ds_fhog_image img, int width, int height,
                  int channels, int cell_size, int pad_rows, int pad_cols, int pitch,
                  int plane_rows, cl_mem hog, ds_error *err) {
  int rows, cols;
  ds_fhog_size(width, height, cell_size, pad_rows, pad_cols, &rows, &cols);
  if (width < 0 || height < 0 || (channels != 1 && channels != 3) || cell_size < 2 ||
      pad_rows < 1 || pad_cols < 1 || pitch < cols || plane_rows < rows ||
      img.pitch < (size_t)width * channels)
    return ds_error_set(err, DS_ERR_INVALID,
                        "fhog: invalid shape %dx%d, %d channels, cell %d, padding %dx%d, layout "
                        "%dx%d",
                        width, height, channels, cell_size, pad_rows, pad_cols, plane_rows, pitch);
  if (rows == 0) return DS_OK;
  /* As fhog.c's fhog_cells and its visible area and SIMD split. */
  const int cell = cell_size;
  const int cells_nr = (int)((float)height / (float)cell + 0.5);
  const int cells_nc = (int)((float)width / (float)cell + 0.5);
  const int visible_nr = (cells_nr * cell < height ? cells_nr * cell : height) - 1;
  const int visible_nc = (cells_nc * cell < width ? cells_nc * cell : width) - 1;
  int simd_end = 1;
  while (simd_end < visible_nc - 7)
    simd_end += 8;
  /* Blocks 0 .. cells_nc vote into histogram columns 1 .. cells_nc; bands 0
   * .. cells_nr into rows 1 .. cells_nr (cl/detect/fhog.cl). */
  const int bpitch = (cells_nc + 1 + 15) / 16 * 16, bands = cells_nr + 1;
  const size_t slots = (size_t)height * cell * bpitch;
  ds_status st =
      ds_buffer_ensure(rt, &ws->orient, &ws->orient_bytes, slots, "fHOG orientations", err);
  if (st == DS_OK)
    st = ds_buffer_ensure(rt, &ws->mag, &ws->mag_bytes, slots * sizeof(float), "fHOG magnitudes",
                          err);
  if (st == DS_OK)
    st = ds_buffer_ensure(rt, &ws->part, &ws->part_bytes,
                          (size_t)bands * 18 * 4 * bpitch * sizeof(float),
                          "fHOG partial histograms", err);
  if (st == DS_OK)
    st = ds_buffer_ensure(rt, &ws->hist, &ws->hist_bytes,
                          (size_t)cells_nr * cells_nc * 18 * sizeof(float), "fHOG histograms", err);
  if (st == DS_OK)
    st = ds_buffer_ensure(rt, &ws->norm, &ws->norm_bytes,
                          (size_t)cells_nr * cells_nc * sizeof(float), "fHOG cell energies", err);
  if (st != DS_OK) return st;
  /* Explicitly vectorised kernels run one work-item per group on CPUs. */
  static const size_t local[2] = {16, 4}, one[2] = {1, 1};
  const size_t *vec_local = rt->profile->simd_width > 1 ? local : one;
  cl_kernel k;
  if (visible_nr > 1) {
    const cl_ulong offset = img.offset;
    const cl_int img_pitch = (cl_int)img.pitch;
    if (channels == 1 && cell == 8) { /* blocks as lanes, whole-vector stores */
      const cl_int padded = img.offset >= DS_FHOG_MARGIN && img.offset % 4 == 0 &&
                            img.pitch % 4 == 0 &&
                            img.pitch >= img.offset + (size_t)width + DS_FHOG_RIGHT_MARGIN;
      const size_t global[2] = {(size_t)bpitch / 16, ((size_t)visible_nr - 1 + 7) / 8};
      st = ds_kernel_get(rt, "detect/fhog", NULL, "fhog_gradient8", &k, err);
      if (st == DS_OK)
        st = ds_kernel_args(k, err, 10, DS_ARG(ws->orient), DS_ARG(ws->mag), DS_ARG(img.mem),
                            DS_ARG(offset), DS_ARG(img_pitch), DS_ARG(width), DS_ARG(visible_nr),
                            DS_ARG(visible_nc), DS_ARG(bpitch), DS_ARG(padded));
      if (st == DS_OK) st = ds_kernel_launch(rt, k, 2, global, vec_local, err);
    } else if (channels == 1) {
      /* 8 x 16 pixels per work-item (GRADIENT_SPAN) */
      const size_t global[2] = {((size_t)cell * bpitch + 127) / 128, (size_t)visible_nr - 1};
      st = ds_kernel_get(rt, "detect/fhog", NULL, "fhog_gradient", &k, err);
      if (st == DS_OK)
        st = ds_kernel_args(k, err, 10, DS_ARG(ws->orient), DS_ARG(ws->mag), DS_ARG(img.mem),
                            DS_ARG(offset), DS_ARG(img_pitch), DS_ARG(width), DS_ARG(visible_nr),
                            DS_ARG(visible_nc), DS_ARG(cell), DS_ARG(bpitch));
      if (st == DS_OK) st = ds_kernel_launch(rt, k, 2, global, vec_local, err);
    } else {
      const size_t global[2] = {(size_t)cell * bpitch, (size_t)visible_nr - 1};
      st = ds_kernel_get(rt, "detect/fhog", NULL, "fhog_gradient_rgb", &k, err);
      if (st == DS_OK)
        st = ds_kernel_args(k, err, 10, DS_ARG(ws->orient), DS_ARG(ws->mag), DS_ARG(img.mem),
                            DS_ARG(offset), DS_ARG(img_pitch), DS_ARG(visible_nr),
                            DS_ARG(visible_nc), DS_ARG(cell), DS_ARG(bpitch), DS_ARG(simd_end));
      if (st == DS_OK) st = ds_kernel_launch(rt, k, 2, global, local, err);
    }
    if (st != DS_OK) return st;
  }
  {
    const size_t global[2] = {(size_t)bpitch / 16, (size_t)bands};
    st = ds_kernel_get(rt, "detect/fhog", NULL, "fhog_hist", &k, err);
    if (st == DS_OK)
      st = ds_kernel_args(k, err, 7, DS_ARG(ws->part), DS_ARG(ws->orient), DS_ARG(ws->mag),
                          DS_ARG(cell), DS_ARG(bpitch), DS_ARG(visible_nr), DS_ARG(bands));
    if (st == DS_OK) st = ds_kernel_launch(rt, k, 2, global, vec_local, err);
    if (st != DS_OK) return st;
  }
  {
    const size_t global[2] = {(size_t)cells_nc, (size_t)cells_nr};
    st = ds_kernel_get(rt, "detect/fhog", NULL, "fhog_combine", &k, err);
    if (st == DS_OK)
      st = ds_kernel_args(k, err, 6, DS_ARG(ws->hist), DS_ARG(ws->norm), DS_ARG(ws->part),
                          DS_ARG(bpitch), DS_ARG(cells_nr), DS_ARG(cells_nc));
    if (st == DS_OK) st = ds_kernel_launch(rt, k, 2, global, local, err);
    if (st != DS_OK) return st;
  }
  {
    const cl_int hog_nr = cells_nr - 2, hog_nc = cells_nc - 2;
    const cl_int row_off = (pad_rows - 1) / 2, col_off = (pad_cols - 1) / 2;
    const size_t global[2] = {(size_t)pitch, (size_t)plane_rows};
    st = ds_kernel_get(rt, "detect/fhog", NULL, "fhog_features", &k, err);
    if (st == DS_OK)
      st = ds_kernel_args(k, err, 10, DS_ARG(hog), DS_ARG(ws->hist), DS_ARG(ws->norm),
                          DS_ARG(pitch), DS_ARG(plane_rows), DS_ARG(hog_nr), DS_ARG(hog_nc),
                          DS_ARG(cells_nc), DS_ARG(row_off), DS_ARG(col_off));
    if (st == DS_OK) st = ds_kernel_launch(rt, k, 2, global, local, err);
  }
  return st;
}
