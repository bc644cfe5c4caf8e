/* SPDX-License-Identifier: Apache-2.0 */
/* libstowaway: find what hides in container images. Umbrella header. */
#ifndef STOWAWAY_H
#define STOWAWAY_H

#include "stowaway/export.h"
#include "stowaway/error.h"
#include "stowaway/image.h"
#include "stowaway/report.h"
#include "stowaway/scan.h"
#include "stowaway/rules.h"
#include "stowaway/reference.h"
#include "stowaway/names.h"
#include "stowaway/policy.h"
#include "stowaway/check.h"
#include "stowaway/manifests.h"
#include "stowaway/cache.h"
#include "stowaway/sign.h"
#include "stowaway/sandbox.h"
#include "stowaway/term.h"
#include "stowaway/json.h"
#include "stowaway/config.h"
#include "stowaway/serve.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The library version, "MAJOR.MINOR.PATCH" (static). */
SW_API const char *sw_version(void);

#ifdef __cplusplus
}
#endif

#endif
