/* OpenCL status codes as their names ("CL_OUT_OF_RESOURCES"). */
#ifndef DS_HOST_CL_STATUS_H
#define DS_HOST_CL_STATUS_H

#include <CL/cl.h>

/* Never NULL: unknown codes give "CL_UNKNOWN_ERROR". */
const char *ds_cl_status_name(cl_int status);

#endif
