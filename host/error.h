/* The error type now lives in core/ (below host/, without OpenCL); this
 * header stays for the code that still includes it from here. */
#ifndef DS_HOST_ERROR_H
#define DS_HOST_ERROR_H

#include "core/error.h"

#endif
