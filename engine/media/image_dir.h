/* Listing a folder of images (aligned faces, extracted frames). */
#ifndef DS_ENGINE_MEDIA_IMAGE_DIR_H
#define DS_ENGINE_MEDIA_IMAGE_DIR_H

#include "core/error.h"

/* Sets *paths to the full paths ("<dir>/<name>") of the regular files in dir
 * whose names end in .png, .jpg or .jpeg (any case), hidden files skipped,
 * in natural name order: digit runs compare by value, so face_2.png comes
 * before face_10.png; everything else compares byte by byte. An empty folder
 * gives *paths = NULL and *count = 0. A missing dir, or one that is not a
 * folder, is DS_ERR_NOT_FOUND. Free the list with ds_image_dir_free. */
ds_status ds_image_dir_list(const char *dir, char ***paths, int *count, ds_error *err);
void ds_image_dir_free(char **paths, int count);

/* The order ds_image_dir_list sorts by: < 0, 0 or > 0 like strcmp. Names
 * equal by value ("a01", "a1") fall back to strcmp, so the order is total. */
int ds_natural_compare(const char *a, const char *b);

#endif
