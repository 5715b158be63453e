/* loss.png, for people without a browser: the loss of every identity against
 * iterations over the model's whole history, on a log scale, each identity in
 * its own colour (raw points faint, a moving average on top, restarted at
 * each run), run boundaries dashed and labelled, the latest losses in the
 * legend. 960 x 420 pixels. Drawn from the training feed (feed.h). */
#ifndef DS_ENGINE_MONITOR_LOSS_PLOT_H
#define DS_ENGINE_MONITOR_LOSS_PLOT_H

#include "core/error.h"
#include "engine/media/image.h"
#include "engine/monitor/feed.h"

/* Renders into out (RGB; free with ds_image_free). An empty feed gives axes
 * and a "no iterations yet" note. */
ds_status ds_loss_plot_render(ds_train_feed *f, ds_image *out, ds_error *err);

/* Renders and writes path atomically (ds_png_write_rgb, as the preview). */
ds_status ds_loss_plot_write(const char *path, ds_train_feed *f, ds_error *err);

#endif
