/* SPDX-License-Identifier: Apache-2.0 */
#include "stowaway/stowaway.h"

const char *sw_version(void)
{
	return SW_VERSION;
}
