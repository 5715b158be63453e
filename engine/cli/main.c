/* dsengine: the face-swap pipeline on any OpenCL device. */
#include <stdio.h>
#include <string.h>

#include "engine/cli/cli.h"

#ifndef DSENGINE_VERSION
#define DSENGINE_VERSION "unknown"
#endif

static const struct {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
} commands[] = {
    {"devices", cmd_devices, "list OpenCL devices and the one dsengine picks; check them"},
    {"extract", cmd_extract, "find, landmark and align the faces of videos and images"},
    {"train", cmd_train, "train the autoencoder on folders of aligned faces"},
    {"convert", cmd_convert, "swap faces in a video or images with a trained model"},
    {"monitor", cmd_monitor, "watch a model's training in a web page (previews, loss, speed)"},
    {"bench", cmd_bench, "measure each device: FMA peak, GEMM, layers, training, inference"},
};

static void usage(FILE *out) {
  fprintf(out, "usage: dsengine [--version] [--help] COMMAND [OPTIONS]\n"
               "       dsengine --config FILE [--resume]   (the main job on the bundled sample)\n"
               "\n"
               "dsengine runs the classic face-swap pipeline (detect, align, train, convert)\n"
               "on any OpenCL device: AMD, Intel and NVIDIA GPUs, or the CPU through PoCL.\n"
               "\n"
               "commands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(out, "\n"
               "'dsengine COMMAND --help' describes a command's options.\n"
               "\n"
               "environment:\n"
               "  DSENGINE_DEVICE      default for --device (auto, INDEX, cpu, gpu, amd, intel,\n"
               "                       nvidia, or part of a device name)\n"
               "  DSENGINE_CACHE_DIR   compiled-kernel cache (default $XDG_CACHE_HOME/dsengine or\n"
               "                       ~/.cache/dsengine; 'off' disables it)\n"
               "  DSENGINE_KERNEL_DIR  read kernel sources from this cl/ folder instead of the\n"
               "                       copy built into dsengine\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return DS_EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (cli_is_help(cmd) || strcmp(cmd, "help") == 0) {
    usage(stdout);
    return DS_EXIT_OK;
  }
  if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
    printf("dsengine %s\n", DSENGINE_VERSION);
    return DS_EXIT_OK;
  }
  if (strncmp(cmd, "--config", 8) == 0 || strcmp(cmd, "--resume") == 0 ||
      strncmp(cmd, "--work", 6) == 0)
    return cmd_run(argc - 1, argv + 1);
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp(cmd, commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
  fprintf(stderr, "dsengine: unknown command '%s'; see 'dsengine --help'\n", cmd);
  return DS_EXIT_USAGE;
}
