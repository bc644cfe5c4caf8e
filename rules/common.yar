/*
 * stowaway bundled rules: private helpers shared by the other files.
 * This file comes first in rules/meson.build: a rule can only name rules
 * compiled before it (all bundled files share the namespace "bundled").
 */

/* Documentation, manuals and source/test trees that quote commands. Only
 * the "shape" rules (droppers, pool names without a port) step aside for these;
 * a miner binary or a reverse shell is reported wherever it is. */
private rule SW_DOC_FILE
{
    condition:
        filepath matches /^\/usr\/(local\/)?share\/(doc|man|info|help|gtk-doc|devhelp|licenses)\//
        or filepath matches /^\/usr\/(local\/)?(lib|share)\/go[^\/]*\/(src|doc|misc|test|api)\//
        or filepath matches /\/(testdata|test|tests|__tests__|spec|examples?|docs?)\//
        or extension matches /^(md|markdown|mdx|txt|rst|adoc|asciidoc|html?|xml|tex|texi|pod|[1-9]|man|po|pot|map|css)$/i
        or filename matches /^(README|Readme|readme|CHANGELOG|ChangeLog|CHANGES|NEWS|HISTORY|INSTALL|FAQ|Dockerfile|Containerfile|Makefile|makefile|GNUmakefile)([._\-].*)?$/
}

/* A script, by its first line or its name. */
private rule SW_SCRIPT_FILE
{
    condition:
        uint16(0) == 0x2123   /* "#!" */
        or extension matches /^(sh|bash|ksh|zsh|dash|ash|py|pl|pm|rb|php|js|mjs|cjs|command|run)$/i
}

