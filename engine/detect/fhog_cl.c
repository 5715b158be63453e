/* Host side of cl/detect/fhog.cl; the reference is ds_fhog_reference
 * (engine/detect/fhog.c), whose maths the kernels repeat. */
#include "engine/detect/fhog_cl.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "engine/detect/fhog.h"
#include "host/buffer.h"
#include "host/program.h"

/* struct fhog_level of cl/detect/fhog.cl, field for field. */
typedef struct fhog_level {
  cl_int img_at, img_pitch, width;
  cl_int visible_nr, visible_nc, simd_end, padded;
  cl_int cells_nr, cells_nc, bpitch, bands;
  cl_int slot_at, part_at, cell_at;
  cl_int hog_at, pitch, plane_rows;
  cl_int first[4]; /* per step: */
} fhog_level;
enum { STEP_GRADIENT, STEP_HIST, STEP_COMBINE, STEP_FEATURES, STEPS };

void ds_fhog_workspace_release(ds_fhog_workspace *ws) {
  ds_buffer_release(&ws->orient);
  ds_buffer_release(&ws->mag);
  ds_buffer_release(&ws->part);
  ds_buffer_release(&ws->hist);
  ds_buffer_release(&ws->norm);
  ds_table_release(&ws->levels);
  ws->orient_bytes = ws->mag_bytes = ws->part_bytes = ws->hist_bytes = ws->norm_bytes = 0;
}

size_t ds_fhog_padded_pitch(int width, int channels) {
  return ((size_t)DS_FHOG_MARGIN + (size_t)width * channels + DS_FHOG_RIGHT_MARGIN + 15) / 16 * 16;
}

/* The shape of one image's work, as fhog.c's fhog_cells, its visible area
 * and SIMD split. Blocks 0 .. cells_nc vote into histogram columns 1 ..
 * cells_nc; bands 0 .. cells_nr into rows 1 .. cells_nr (cl/detect/fhog.cl). */
typedef struct fhog_shape {
  int cells_nr, cells_nc, visible_nr, visible_nc, simd_end, bpitch, bands;
  size_t slots, parts, cells; /* elements of orient / mag, part, norm */
} fhog_shape;

static fhog_shape shape_of(int width, int height, int cell) {
  fhog_shape s;
  s.cells_nr = (int)((float)height / (float)cell + 0.5);
  s.cells_nc = (int)((float)width / (float)cell + 0.5);
  s.visible_nr = (s.cells_nr * cell < height ? s.cells_nr * cell : height) - 1;
  s.visible_nc = (s.cells_nc * cell < width ? s.cells_nc * cell : width) - 1;
  s.simd_end = 1;
  while (s.simd_end < s.visible_nc - 7)
    s.simd_end += 8;
  s.bpitch = (s.cells_nc + 1 + 15) / 16 * 16;
  s.bands = s.cells_nr + 1;
  s.slots = (size_t)height * cell * s.bpitch;
  s.parts = (size_t)s.bands * 18 * 4 * s.bpitch;
  s.cells = (size_t)s.cells_nr * s.cells_nc;
  return s;
}

size_t ds_fhog_scratch_bytes(int width, int height, int cell_size) {
  if (width <= 0 || height <= 0 || cell_size < 2) return 0;
  const fhog_shape s = shape_of(width, height, cell_size);
  return s.slots * (1 + sizeof(float)) + (s.parts + s.cells * 19) * sizeof(float);
}

ds_status ds_fhog(ds_runtime *rt, ds_fhog_workspace *ws, ds_fhog_image img, int width, int height,
                  int channels, int cell_size, int pad_rows, int pad_cols, int pitch,
                  int plane_rows, cl_mem hog, ds_error *err) {
  const ds_fhog_level level = {img, width, height, pitch, plane_rows, 0, 0};
  return ds_fhog_levels(rt, ws, &level, 1, 0, channels, cell_size, pad_rows, pad_cols, hog, err);
}

/* Whether an offset fits the kernels' int arithmetic. */
static int fits(size_t v) { return v <= (size_t)INT_MAX; }

/* What one batch of a table needs: its levels, each step's work-items and
 * its scratch (elements of orient / mag, part, norm). */
typedef struct batch_need {
  int first, count;
  size_t tiles[STEPS], slots, parts, cells;
} batch_need;

/* The table of every level, offsets and work-items counted from each
 * batch's start, and what batch `want` needs; DS_OK or DS_ERR_INVALID. */
static ds_status plan_levels(const ds_fhog_level *levels, int n, int want, int channels, int cell,
                             int pad_rows, int pad_cols, fhog_level *table, batch_need *need,
                             ds_error *err) {
  batch_need b = {0};
  memset(need, 0, sizeof *need);
  for (int i = 0; i < n; i++) {
    const ds_fhog_level *l = &levels[i];
    if (i > 0 && l->batch != levels[i - 1].batch) {
      if (levels[i - 1].batch == want) *need = b;
      memset(&b, 0, sizeof b);
      b.first = i;
    }
    b.count++;
    int rows, cols;
    ds_fhog_size(l->width, l->height, cell, pad_rows, pad_cols, &rows, &cols);
    if (l->width < 0 || l->height < 0 || l->pitch < cols || l->plane_rows < rows ||
        l->img.pitch < (size_t)l->width * channels || l->img.mem != levels[0].img.mem)
      return ds_error_set(err, DS_ERR_INVALID,
                          "fhog: invalid image %d of %d: %dx%d, %d channels, cell %d, padding "
                          "%dx%d, layout %dx%d%s",
                          i, n, l->width, l->height, channels, cell, pad_rows, pad_cols,
                          l->plane_rows, l->pitch,
                          l->img.mem != levels[0].img.mem ? ", in another buffer" : "");
    fhog_level *t = &table[i];
    memset(t, 0, sizeof *t);
    for (int k = 0; k < STEPS; k++)
      t->first[k] = (cl_int)b.tiles[k];
    if (rows == 0) continue; /* too small for a cell: nothing to do */
    const fhog_shape s = shape_of(l->width, l->height, cell);
    size_t n_tiles[STEPS];
    const size_t grad_rows = s.visible_nr > 1 ? (size_t)s.visible_nr - 1 : 0;
    if (channels == 3)
      n_tiles[STEP_GRADIENT] = (size_t)cell * s.bpitch * grad_rows;
    else if (cell == 8)
      n_tiles[STEP_GRADIENT] = (size_t)s.bpitch / 16 * ((grad_rows + 7) / 8);
    else /* 8 x 16 pixels per work-item (GRADIENT_SPAN) */
      n_tiles[STEP_GRADIENT] = ((size_t)cell * s.bpitch + 127) / 128 * grad_rows;
    n_tiles[STEP_HIST] = (size_t)s.bpitch / 16 * s.bands;
    n_tiles[STEP_COMBINE] = s.cells;
    n_tiles[STEP_FEATURES] = (size_t)l->pitch * l->plane_rows;
    const size_t img_at = l->img.offset, hog_at = l->hog_offset;
    const size_t hog_end = hog_at + (size_t)DS_FHOG_PLANES * l->plane_rows * l->pitch;
    int ok = fits(img_at + l->img.pitch * l->height) && fits(hog_end) && fits(b.slots + s.slots) &&
             fits(b.parts + s.parts) && fits((b.cells + s.cells) * 18);
    for (int k = 0; k < STEPS; k++)
      ok = ok && fits(b.tiles[k] + n_tiles[k]);
    if (!ok)
      return ds_error_set(err, DS_ERR_INVALID,
                          "fhog: a batch of images up to %dx%d is too large for one launch; "
                          "split it",
                          l->width, l->height);
    t->img_at = (cl_int)img_at;
    t->img_pitch = (cl_int)l->img.pitch;
    t->width = l->width;
    t->visible_nr = s.visible_nr;
    t->visible_nc = s.visible_nc;
    t->simd_end = s.simd_end;
    t->padded = channels == 1 && img_at >= DS_FHOG_MARGIN && img_at % 4 == 0 &&
                l->img.pitch % 4 == 0 &&
                l->img.pitch >= DS_FHOG_MARGIN + (size_t)l->width + DS_FHOG_RIGHT_MARGIN;
    t->cells_nr = s.cells_nr;
    t->cells_nc = s.cells_nc;
    t->bpitch = s.bpitch;
    t->bands = s.bands;
    t->slot_at = (cl_int)b.slots;
    t->part_at = (cl_int)b.parts;
    t->cell_at = (cl_int)b.cells;
    t->hog_at = (cl_int)hog_at;
    t->pitch = l->pitch;
    t->plane_rows = l->plane_rows;
    b.slots += s.slots;
    b.parts += s.parts;
    b.cells += s.cells;
    for (int k = 0; k < STEPS; k++)
      b.tiles[k] += n_tiles[k];
  }
  if (n > 0 && levels[n - 1].batch == want) *need = b;
  return DS_OK;
}

/* Enqueues one step of a batch: args are the step's buffers, then the
 * table, the batch's first level, its levels and work-items, then extra
 * ints. */
static ds_status launch(ds_runtime *rt, ds_fhog_workspace *ws, const char *name,
                        const batch_need *b, int step, int vectorised, int nbuf, const cl_mem *bufs,
                        int nextra, const cl_int *extra, ds_error *err) {
  const size_t tiles = b->tiles[step];
  if (tiles == 0) return DS_OK;
  cl_kernel k;
  ds_status st = ds_kernel_get(rt, "detect/fhog", NULL, name, &k, err);
  if (st != DS_OK) return st;
  const cl_int t = (cl_int)tiles, first = b->first, count = b->count;
  cl_uint a = 0;
  for (int i = 0; i < nbuf && st == DS_OK; i++)
    st = ds_kernel_arg(k, a++, sizeof(cl_mem), &bufs[i], err);
  if (st == DS_OK) st = ds_kernel_arg(k, a++, sizeof(cl_mem), &ws->levels.mem, err);
  if (st == DS_OK) st = ds_kernel_arg(k, a++, sizeof first, &first, err);
  if (st == DS_OK) st = ds_kernel_arg(k, a++, sizeof count, &count, err);
  if (st == DS_OK) st = ds_kernel_arg(k, a++, sizeof t, &t, err);
  for (int i = 0; i < nextra && st == DS_OK; i++)
    st = ds_kernel_arg(k, a++, sizeof(cl_int), &extra[i], err);
  if (st != DS_OK) return st;
  /* Explicitly vectorised kernels run one work-item per group on CPUs. */
  const size_t local = vectorised && rt->profile->simd_width <= 1 ? 1 : 64;
  const size_t global = (tiles + local - 1) / local * local;
  return ds_kernel_launch(rt, k, 1, &global, &local, err);
}

ds_status ds_fhog_levels(ds_runtime *rt, ds_fhog_workspace *ws, const ds_fhog_level *levels, int n,
                         int batch, int channels, int cell_size, int pad_rows, int pad_cols,
                         cl_mem hog, ds_error *err) {
  if (n < 0 || (channels != 1 && channels != 3) || cell_size < 2 || pad_rows < 1 || pad_cols < 1)
    return ds_error_set(err, DS_ERR_INVALID,
                        "fhog: invalid batch: %d images, %d channels, cell %d, padding %dx%d", n,
                        channels, cell_size, pad_rows, pad_cols);
  if (n == 0) return DS_OK;
  fhog_level *table = malloc((size_t)n * sizeof *table);
  if (!table)
    return ds_error_set(err, DS_ERR_NO_MEMORY, "fhog: cannot allocate a table of %d levels", n);
  batch_need b;
  ds_status st =
      plan_levels(levels, n, batch, channels, cell_size, pad_rows, pad_cols, table, &b, err);
  if (st == DS_OK && b.tiles[STEP_FEATURES] > 0)
    st =
        ds_table_upload(rt, &ws->levels, table, (size_t)n * sizeof *table, "fHOG level table", err);
  free(table);
  if (st != DS_OK || b.tiles[STEP_FEATURES] == 0) return st;
  st = ds_buffer_ensure(rt, &ws->orient, &ws->orient_bytes, b.slots ? b.slots : 1,
                        "fHOG orientations", err);
  if (st == DS_OK)
    st = ds_buffer_ensure(rt, &ws->mag, &ws->mag_bytes, (b.slots ? b.slots : 1) * sizeof(float),
                          "fHOG magnitudes", err);
  if (st == DS_OK)
    st = ds_buffer_ensure(rt, &ws->part, &ws->part_bytes, b.parts * sizeof(float),
                          "fHOG partial histograms", err);
  if (st == DS_OK)
    st = ds_buffer_ensure(rt, &ws->hist, &ws->hist_bytes, b.cells * 18 * sizeof(float),
                          "fHOG histograms", err);
  if (st == DS_OK)
    st = ds_buffer_ensure(rt, &ws->norm, &ws->norm_bytes, b.cells * sizeof(float),
                          "fHOG cell energies", err);
  if (st != DS_OK) return st;
  const cl_int cell = cell_size;
  const cl_mem img = levels[0].img.mem;
  {
    const cl_mem bufs[3] = {ws->orient, ws->mag, img};
    if (channels == 1 && cell == 8) /* blocks as lanes, whole-vector stores */
      st = launch(rt, ws, "fhog_gradient8", &b, STEP_GRADIENT, 1, 3, bufs, 0, NULL, err);
    else if (channels == 1)
      st = launch(rt, ws, "fhog_gradient", &b, STEP_GRADIENT, 1, 3, bufs, 1, &cell, err);
    else
      st = launch(rt, ws, "fhog_gradient_rgb", &b, STEP_GRADIENT, 0, 3, bufs, 1, &cell, err);
  }
  if (st == DS_OK) {
    const cl_mem bufs[3] = {ws->part, ws->orient, ws->mag};
    st = launch(rt, ws, "fhog_hist", &b, STEP_HIST, 1, 3, bufs, 1, &cell, err);
  }
  if (st == DS_OK) {
    const cl_mem bufs[3] = {ws->hist, ws->norm, ws->part};
    st = launch(rt, ws, "fhog_combine", &b, STEP_COMBINE, 0, 3, bufs, 0, NULL, err);
  }
  if (st == DS_OK) {
    const cl_mem bufs[3] = {hog, ws->hist, ws->norm};
    const cl_int off[2] = {(pad_rows - 1) / 2, (pad_cols - 1) / 2};
    st = launch(rt, ws, "fhog_features", &b, STEP_FEATURES, 0, 3, bufs, 2, off, err);
  }
  return st;
}
