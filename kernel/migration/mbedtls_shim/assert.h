/*
 * <assert.h> for mbedTLS in the freestanding image only (mk/mbedtls.mk puts this
 * folder on the include path of mbedTLS's own files). mbedTLS's common.h includes
 * it; with MBEDTLS_CHECK_PARAMS off it never calls assert at run time.
 */
#ifndef FERRY_MBEDTLS_SHIM_ASSERT_H
#define FERRY_MBEDTLS_SHIM_ASSERT_H

#define assert(cond) ((void)0)

#endif
