/* CRC-32 and FNV-1a against published check values; OpenCL status names. */
#include "check.h"
#include "host/cl_status.h"
#include "core/error.h"
#include "core/hash.h"

int main(void) {
  /* The standard check value for CRC-32/ISO-HDLC. */
  CHECK(ds_crc32(0, "123456789", 9) == 0xcbf43926u, "crc32 check value");
  CHECK(ds_crc32(0, "", 0) == 0, "crc32 of nothing");
  CHECK(ds_crc32(ds_crc32(0, "1234", 4), "56789", 5) == 0xcbf43926u, "chained crc32");
  /* FNV-1a 64 reference values (Fowler/Noll/Vo test suite). */
  CHECK(ds_fnv64(DS_FNV64_INIT, "", 0) == 0xcbf29ce484222325ull, "fnv64 empty");
  CHECK(ds_fnv64(DS_FNV64_INIT, "a", 1) == 0xaf63dc4c8601ec8cull, "fnv64 a");
  CHECK(ds_fnv64(DS_FNV64_INIT, "foobar", 6) == 0x85944171f73967e8ull, "fnv64 foobar");

  CHECK(strcmp(ds_cl_status_name(CL_OUT_OF_RESOURCES), "CL_OUT_OF_RESOURCES") == 0, "name");
  CHECK(strcmp(ds_cl_status_name(CL_BUILD_PROGRAM_FAILURE), "CL_BUILD_PROGRAM_FAILURE") == 0,
        "name");
  CHECK(strcmp(ds_cl_status_name(-1001), "CL_PLATFORM_NOT_FOUND_KHR") == 0, "khr");
  CHECK(strcmp(ds_cl_status_name(-9999), "CL_UNKNOWN_ERROR") == 0, "unknown");

  ds_error err = {0};
  CHECK(ds_error_set(&err, DS_ERR_IO, "cannot write %s", "x.bin") == DS_ERR_IO, "returns code");
  ds_error_append(&err, "; %s", "disk full");
  CHECK(strcmp(err.msg, "cannot write x.bin; disk full") == 0, "%s", err.msg);
  ds_error_set_detail(&err, "log");
  ds_error_clear(&err);
  CHECK(err.code == DS_OK && err.detail == NULL && err.msg[0] == '\0', "cleared");
  CHECK(ds_error_set(NULL, DS_ERR_CORRUPT, "ignored") == DS_ERR_CORRUPT, "NULL error is fine");
  return check_summary("hash");
}
