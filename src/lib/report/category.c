/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Finding categories: the one table. Whether a category means "this is
 * malware" decides the verdict (a high finding in one is malicious, in any
 * other at most suspicious); whether rules may name it is checked when YARA
 * rules and IOC lists are loaded; the help text is what SARIF shows. The
 * report, SARIF, the rule loaders and the sandbox's judge all read this
 * table, so a category the sandbox emits cannot be missing from the verdict
 * (as "escape" once was).
 */
#include <string.h>

#include "stowaway/report.h"
#include "../util/banned.h"

static const sw_category table[] = {
	{ "miner", true, true,
	  "A cryptocurrency miner spends the CPU of every host that runs the image. Do not "
	  "deploy it. The result names the build step that added the file: rebuild from a trusted, "
	  "pinned base image without it, and check hosts that ran the image for high CPU use and "
	  "connections to mining pools." },
	{ "backdoor", true, true,
	  "Treat the image as compromised and do not run it. Find the build step that "
	  "added the file (the result names it), rebuild from a trusted base image, rotate the "
	  "credentials its containers could reach and review the hosts that ran it." },
	{ "reverse-shell", true, true,
	  "A reverse shell gives a remote party a shell inside the container. Do "
	  "not run the image; rebuild it from a trusted base without the build step named in the "
	  "result, rotate reachable credentials and review the hosts that ran it." },
	{ "dropper", true, true,
	  "The image fetches and runs code at build or run time. Replace the download with "
	  "a pinned, checksummed artifact from a trusted source, or remove it, and rebuild." },
	{ "persistence", true, true,
	  "A file puts itself where the system runs it automatically (cron, systemd, "
	  "shell profiles, ld.so.preload, authorized_keys). Confirm that a package you chose installed "
	  "it; otherwise rebuild the image without the build step that added it." },
	{ "packed", true, true,
	  "A packed executable hides its code from inspection. Confirm where the binary "
	  "came from (a checksum published by its vendor) and prefer an unpacked build from a "
	  "distribution package." },
	{ "hidden-payload", true, true,
	  "Deleting a file in a later layer does not remove it from the image: its "
	  "bytes stay in the earlier layer and ship with every pull. Find out why the file was added, "
	  "then create and delete temporary files in one build step (or use a multi-stage build) "
	  "and rebuild." },
	{ "webshell", true, true,
	  "A web shell lets whoever can reach the web server run commands in the "
	  "container. Do not deploy the image; rebuild it without the build step that added the "
	  "file and review the hosts and data the application could reach." },
	{ "hacktool", false, true,
	  "A tool for attacking or scanning other systems (credential dumpers, "
	  "scanners, post-exploitation kits). Confirm that the image is meant to carry it; "
	  "otherwise rebuild without it." },
	{ "exploit", false, true,
	  "Code that exploits a vulnerability. Confirm that the image is meant to carry it "
	  "(a security test suite); otherwise treat it as hostile and rebuild without it." },
	{ "custom", false, true,
	  "A finding of a rule you supplied (--rules) whose meta names no category: its "
	  "description says what it looks for." },
	{ "escape", true, false,
	  "The image reaches for what is outside its container: the host's files, a "
	  "container runtime's socket, or the machine that unpacks it. Do not run or unpack it; "
	  "treat its source as hostile." },
	{ "credential-theft", true, false,
	  "The image reads credentials it has no business with: the cloud metadata service, "
	  "private keys, password files. Do not run it; rotate what its containers could reach." },
	{ "suspicious-config", false, true,
	  "Review the image configuration (Entrypoint, Cmd, Env, Labels, User, "
	  "exposed ports) and its build history, and remove what the application does not need." },
	{ "privileged", false, false,
	  "The image tried operations a container does not need (refused in the sandbox). "
	  "Find out why before granting it privileges." },
	{ "resource-abuse", false, false,
	  "The image used more processes, memory or disk than the sandbox allows. Bound it "
	  "with limits wherever it runs, or find out why it does so." },
	{ "scanning", false, false,
	  "The image tried many network destinations, as a scanner or a worm does. Find out "
	  "what it looks for before letting it reach a network." },
	{ "impersonation", false, false,
	  "The image name imitates a well-known image. Check the registry, namespace "
	  "and repository you meant to use, and pin the image by digest." },
	{ "typosquat", false, false,
	  "The image name is one typo away from a well-known image. Check the exact name "
	  "you meant to pull, and pin the image by digest." },
	{ "signature", false, false,
	  "The image's signatures do not meet the requirement. Verify its provenance before use." },
	{ "policy", false, false, "The image breaks the configured policy. Use an image the policy allows." },
	{ "incomplete", false, false,
	  "Part of the image was not scanned because a limit was reached. Raise the "
	  "limit named in the message (for example --max-file-size) and scan again, or review the "
	  "file by other means; do not take it as clean." },
	{ "test", false, true,
	  "This is a test file (such as EICAR) that anti-malware tools detect on purpose. "
	  "Remove it from images that are not test fixtures." },
};

const sw_category *sw_category_find(const char *name)
{
	size_t i;

	for (i = 0; name && i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(name, table[i].name) == 0)
			return &table[i];
	return NULL;
}

bool sw_category_malware(const char *name)
{
	const sw_category *c = sw_category_find(name);

	return c && c->malware;
}
