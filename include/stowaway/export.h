/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SW_API marks each function the library exports. libstowaway is compiled
 * with -fvisibility=hidden, so only what a public header declares with
 * SW_API is visible outside libstowaway.so; the sw_<module>__name()
 * internals that the library's files share stay inside it. tests/abi
 * checks that the two sets are the same.
 */
#ifndef STOWAWAY_EXPORT_H
#define STOWAWAY_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define SW_API __attribute__((visibility("default")))
#else
#define SW_API
#endif

#endif
