/* Forced into every source of ds_formats (media and parsers): claims the
 * include guard of <CL/cl.h>, so a media or parser file that reaches an
 * OpenCL header, however indirectly, stops compiling at its first OpenCL
 * type instead of quietly tying file formats to the OpenCL runtime. */
#define __OPENCL_CL_H
