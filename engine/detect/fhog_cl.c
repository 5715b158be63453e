/* Host side of cl/detect/fhog.cl; the reference is ds_fhog_reference
 * (engine/detect/fhog.c), whose maths the kernels repeat. */
#include "engine/detect/fhog_cl.h"

#include "engine/detect/fhog.h"
#include "host/buffer.h"
#include "host/program.h"

void ds_fhog_workspace_release(ds_fhog_workspace *ws) {
  ds_buffer_release(&ws->orient);
  ds_buffer_release(&ws->mag);
  ds_buffer_release(&ws->hist);
  ds_buffer_release(&ws->norm);
  ws->pixels = ws->cells = 0;
}

static ds_status reserve(ds_runtime *rt, ds_fhog_workspace *ws, size_t pixels, size_t cells,
                         ds_error *err) {
  ds_status st = DS_OK;
  if (pixels > ws->pixels) {
    ds_buffer_release(&ws->orient);
    ds_buffer_release(&ws->mag);
    ws->pixels = 0;
    st = ds_buffer_create(rt, pixels, CL_MEM_READ_WRITE, "fHOG orientations",
                          &ws->orient, err);
    if (st == DS_OK)
      st = ds_buffer_create(rt, pixels * sizeof(float), CL_MEM_READ_WRITE, "fHOG magnitudes",
                            &ws->mag, err);
    if (st != DS_OK) return st;
    ws->pixels = pixels;
  }
  if (cells > ws->cells) {
    ds_buffer_release(&ws->hist);
    ds_buffer_release(&ws->norm);
    ws->cells = 0;
    st = ds_buffer_create(rt, cells * 18 * sizeof(float), CL_MEM_READ_WRITE, "fHOG histograms",
                          &ws->hist, err);
    if (st == DS_OK)
      st = ds_buffer_create(rt, cells * sizeof(float), CL_MEM_READ_WRITE, "fHOG cell energies",
                            &ws->norm, err);
    if (st != DS_OK) return st;
    ws->cells = cells;
  }
  return DS_OK;
}

static ds_status set_args(cl_kernel k, int n, const cl_mem *mems, int nmem, const cl_int *ints,
                          ds_error *err) {
  ds_status st = DS_OK;
  for (int i = 0; i < nmem && st == DS_OK; i++)
    st = ds_kernel_arg(k, (cl_uint)i, sizeof(cl_mem), &mems[i], err);
  for (int i = nmem; i < n && st == DS_OK; i++)
    st = ds_kernel_arg(k, (cl_uint)i, sizeof(cl_int), &ints[i - nmem], err);
  return st;
}

ds_status ds_fhog(ds_runtime *rt, ds_fhog_workspace *ws, cl_mem img, int width, int height,
                  int channels, int cell_size, int pad_rows, int pad_cols, int pitch,
                  int plane_rows, cl_mem hog, ds_error *err) {
  int rows, cols;
  ds_fhog_size(width, height, cell_size, pad_rows, pad_cols, &rows, &cols);
  if (width < 0 || height < 0 || (channels != 1 && channels != 3) || cell_size < 2 ||
      pad_rows < 1 || pad_cols < 1 || pitch < cols || plane_rows < rows)
    return ds_error_set(err, DS_ERR_INVALID,
                        "fhog: invalid shape %dx%d, %d channels, cell %d, padding %dx%d, layout "
                        "%dx%d",
                        width, height, channels, cell_size, pad_rows, pad_cols, plane_rows, pitch);
  if (rows == 0) return DS_OK;
  /* As fhog.c's fhog_cells and its visible area and SIMD split. */
  const int cells_nr = (int)((float)height / (float)cell_size + 0.5);
  const int cells_nc = (int)((float)width / (float)cell_size + 0.5);
  const int visible_nr = (cells_nr * cell_size < height ? cells_nr * cell_size : height) - 1;
  const int visible_nc = (cells_nc * cell_size < width ? cells_nc * cell_size : width) - 1;
  int simd_end = 1;
  while (simd_end < visible_nc - 7)
    simd_end += 8;
  /* Gradient rows: room for the grey kernel's last 16-pixel block. */
  const int gpitch = (width + 31) / 16 * 16;
  ds_status st = reserve(rt, ws, (size_t)gpitch * height, (size_t)cells_nr * cells_nc, err);
  if (st != DS_OK) return st;
  static const size_t local[2] = {16, 4}, vec_local[2] = {1, 1};
  cl_kernel k;
  if (visible_nr > 1 && visible_nc > 1) {
    const cl_mem m[3] = {ws->orient, ws->mag, img};
    if (channels == 1) {
      const cl_int a[5] = {width, height, visible_nr, visible_nc, gpitch};
      const size_t global[2] = {(size_t)(visible_nc - 1 + 15) / 16, (size_t)visible_nr - 1};
      st = ds_kernel_get(rt, "detect/fhog", NULL, "fhog_gradient", &k, err);
      if (st == DS_OK) st = set_args(k, 8, m, 3, a, err);
      if (st == DS_OK)
        st = ds_kernel_launch(rt, k, 2, global, rt->profile->simd_width > 1 ? local : vec_local,
                              err);
    } else {
      const cl_int a[5] = {width, visible_nr, visible_nc, gpitch, simd_end};
      const size_t global[2] = {(size_t)visible_nc - 1, (size_t)visible_nr - 1};
      st = ds_kernel_get(rt, "detect/fhog", NULL, "fhog_gradient_rgb", &k, err);
      if (st == DS_OK) st = set_args(k, 8, m, 3, a, err);
      if (st == DS_OK) st = ds_kernel_launch(rt, k, 2, global, local, err);
    }
    if (st != DS_OK) return st;
  }
  {
    const cl_mem m[4] = {ws->hist, ws->norm, ws->orient, ws->mag};
    const cl_int a[7] = {gpitch, cell_size, cells_nr, cells_nc, visible_nr, visible_nc, simd_end};
    const size_t global[2] = {(size_t)cells_nc, (size_t)cells_nr};
    st = ds_kernel_get(rt, "detect/fhog", NULL, "fhog_hist", &k, err);
    if (st == DS_OK) st = set_args(k, 11, m, 4, a, err);
    if (st == DS_OK) st = ds_kernel_launch(rt, k, 2, global, local, err);
    if (st != DS_OK) return st;
  }
  {
    const cl_mem m[3] = {hog, ws->hist, ws->norm};
    const cl_int a[7] = {pitch,        plane_rows,         cells_nr - 2,      cells_nc - 2,
                         cells_nc, (pad_rows - 1) / 2, (pad_cols - 1) / 2};
    const size_t global[2] = {(size_t)pitch, (size_t)plane_rows};
    st = ds_kernel_get(rt, "detect/fhog", NULL, "fhog_features", &k, err);
    if (st == DS_OK) st = set_args(k, 10, m, 3, a, err);
    if (st == DS_OK) st = ds_kernel_launch(rt, k, 2, global, local, err);
  }
  return st;
}
