/* Loaders behind xf_task_load's sources, each giving a train/test pair named
 * `name`. Internal to src/data (and the tests and fuzzers). */
#ifndef XF_READERS_H
#define XF_READERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "data/dataset.h"
#include "data/preprocess.h"

/* Seed and share of the stratified split for sources that ship one set. */
#define XF_SPLIT_SEED 0
#define XF_SPLIT_TEST_FRACTION (1.0 / 6)

/* A named task from the registry (no spec syntax). */
xf_status xf_named_task_load(const char *name, xf_dataset *train, xf_dataset *test);

/* A folder with the four MNIST file names (.gz or not). */
xf_status xf_idx_dir_load(const char *dir, const char *name, xf_dataset *train,
                          xf_dataset *test);

/* CIFAR binary batches: CIFAR-10 (data_batch_1..5.bin, test_batch.bin:
 * records of 1 label byte + 3072 pixel bytes, planes R, G, B) or CIFAR-100
 * (train.bin, test.bin: coarse label, fine label, 3072 bytes; fine labels
 * used). */
xf_status xf_cifar_load(const char *dir, const char *name, xf_dataset *train,
                        xf_dataset *test);
/* Parses records from bytes; n_classes 10 (1-byte header) or 100 (2-byte
 * header, fine label second). Appends to out (allocated by the caller for
 * *count + size / record images). */
xf_status xf_cifar_parse(const uint8_t *bytes, size_t size, int n_classes, const char *origin,
                         xf_dataset *out, int *count);

/* NumPy .npy: images uint8 (N, H, W) or (N, H, W, C) with C 1 or 3, labels
 * any integer dtype (N,). `paths` is "IMAGES,LABELS" (split 5:1 by seed
 * XF_SPLIT_SEED) or "IMAGES,LABELS,TEST_IMAGES,TEST_LABELS". */
xf_status xf_npy_load(const char *paths, const char *name, xf_dataset *train, xf_dataset *test);
/* Parses an images and a labels .npy from bytes into a dataset. */
xf_status xf_npy_parse_pair(const uint8_t *images, size_t images_size, const char *images_origin,
                            const uint8_t *labels, size_t labels_size, const char *labels_origin,
                            const char *name, xf_dataset *out);

/* ImageFolder: DIR/<class>/... or DIR/train/<class>/... and
 * DIR/test/<class>/... (same class names), classes in name order, pictures
 * (.png, .jpg, .jpeg, any case) found recursively below each class folder
 * in path order. Every picture goes through `pipeline` as it is decoded
 * (on all cores); with no size in it, the first picture's size is used,
 * with no channels, the first picture's grey or RGB. A picture that cannot
 * be read or decoded, a folder that cannot be opened, a symbolic link loop
 * and a class left without pictures are each named with their path: a
 * warning when skip_bad (the picture, folder or class is left out), else
 * the error. Other files are skipped and counted in one warning. */
xf_status xf_folder_load(const char *dir, const char *name, const xf_pipeline *pipeline,
                         bool skip_bad, xf_dataset *train, xf_dataset *test);
/* The same for the listed class folders of dir only (in list order), which
 * must exist; dir has no train/test folders. */
xf_status xf_folder_load_classes(const char *dir, const char *const *classes, int n_classes,
                                 const char *name, const xf_pipeline *pipeline, bool skip_bad,
                                 xf_dataset *train, xf_dataset *test);
/* Decodes a PNG or JPEG held in memory to 8-bit channels: 1 grey, 2 grey +
 * alpha, 3 RGB, 4 RGBA (palettes expanded, 16 bits to their high byte,
 * CMYK to RGB). Refuses pictures over 16384 pixels a side or 64 Mpixels
 * before taking their memory. *pixels: caller frees. */
xf_status xf_image_decode(const uint8_t *bytes, size_t size, const char *origin,
                          uint8_t **pixels, int *height, int *width, int *channels);

#endif
