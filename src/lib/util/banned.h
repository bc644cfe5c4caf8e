/* SPDX-License-Identifier: Apache-2.0 */
/* Functions that invite overflows or hidden state: using one fails the build. */
#ifndef SW_BANNED_H
#define SW_BANNED_H
#undef strcpy
#define strcpy(a, b) sw_banned_strcpy_use_memcpy_or_snprintf
#undef strcat
#define strcat(a, b) sw_banned_strcat
#undef sprintf
#define sprintf(...) sw_banned_sprintf_use_snprintf
#undef vsprintf
#define vsprintf(...) sw_banned_vsprintf
#undef strtok
#define strtok(a, b) sw_banned_strtok
#undef gets
#define gets(a) sw_banned_gets
#undef atoi
#define atoi(a) sw_banned_atoi_use_strtol
#undef atol
#define atol(a) sw_banned_atol_use_strtol
#undef atoll
#define atoll(a) sw_banned_atoll_use_strtoll
#undef mktemp
#define mktemp(a) sw_banned_mktemp
#endif
