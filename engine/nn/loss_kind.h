/* The reconstruction loss terms a config may combine (train.loss), shared by
 * the config parser and the loss kernels; no OpenCL here. */
#ifndef DS_ENGINE_NN_LOSS_KIND_H
#define DS_ENGINE_NN_LOSS_KIND_H

/* The values are those of cl/nn/loss.cl's LOSS_MAE / LOSS_MSE for the two
 * elementwise terms. */
typedef enum ds_loss {
  DS_LOSS_KIND_MAE = 0, /* mean |y - t| (the original's) */
  DS_LOSS_KIND_MSE = 1, /* mean (y - t)^2 */
  DS_LOSS_KIND_SSIM =
      2, /* DSSIM = (1 - SSIM) / 2, Gaussian window 11, sigma 1.5 (engine/nn/ssim.h) */
  DS_LOSS_KIND_GMSD = 3,   /* gradient magnitude similarity deviation (engine/nn/gmsd.h) */
  DS_LOSS_KIND_MS_SSIM = 4 /* (1 - MS-SSIM) / 2 over the scales the crop allows (ssim.h) */
} ds_loss;

enum { DS_MAX_LOSS_TERMS = 4, DS_LOSS_KINDS = 5 };

/* The SSIM window (pixels a side) and the most MS-SSIM scales: an image
 * smaller than the window cannot take an SSIM term. */
enum { DS_SSIM_WINDOW = 11, DS_MS_SSIM_MAX_SCALES = 5 };

typedef struct ds_loss_term {
  ds_loss kind;
  float weight;
} ds_loss_term;

/* "mae", "mse", "ssim", "gmsd", "ms_ssim"; NULL for an unknown kind. */
const char *ds_loss_name(ds_loss kind);
/* The kind of a name, or -1. */
int ds_loss_from_name(const char *name);

#endif
