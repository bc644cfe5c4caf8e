/*
 * stowaway bundled rules: reverse and bind shells.
 *
 * Each rule needs the whole shape of a shell handed to a socket, not one
 * ingredient: bash itself contains "/dev/tcp", Python's Lib/pty.py has
 * pty.spawn and dup2, netcat's help text has "-e", socat's docs have EXEC.
 * So: /dev/tcp/HOST/PORT together with an interactive shell or fd
 * redirection; nc/ncat with -e/-c and a shell; socat with a TCP address and
 * EXEC/SYSTEM of a shell; a script that connects a socket, duplicates it
 * onto stdin/stdout and starts a shell.
 */

rule SW_REVSHELL_DEV_TCP
{
    meta:
        id = "SW-REVSHELL-DEVTCP"
        severity = "critical"
        category = "reverse-shell"
        title = "Reverse shell through bash /dev/tcp (or gawk /inet/tcp)"
        max_size = "8MB"
        description = "An interactive shell redirected to /dev/tcp/HOST/PORT (bash -i >& /dev/tcp/h/p 0>&1), or a descriptor opened on /dev/tcp/HOST/PORT and fed to a shell or a read-and-run loop, or gawk's /inet/tcp/0/HOST/PORT reading a command from the socket and running it as a |& coprocess (outside documentation: gawk's network examples are clients of this shape)."
    strings:
        $i = /\b(ba|z|k|da)?sh\s+-i\s*[0-9]?[<>]{1,2}&?\s*\/dev\/(tcp|udp)\/[A-Za-z0-9.\-]{1,253}\/[0-9]{1,5}/ ascii
        $r = /\/dev\/(tcp|udp)\/[A-Za-z0-9.\-]{1,253}\/[0-9]{1,5}\s*0?[<>]&\s*[0-9]/ ascii
        $fd = /exec\s+[0-9]{1,3}\s*<>\s*\/dev\/(tcp|udp)\/[A-Za-z0-9.\-]{1,253}\/[0-9]{1,5}/ ascii
        $loop1 = /\b(ba|z|k|da)?sh\s+(-i\s+)?[0-9]?<&\s*[0-9]{1,3}\s+[0-9]?>&\s*[0-9]{1,3}/ ascii
        $loop2 = /while\s+read\s+(-r\s+)?\w+\s*;?\s*do\s+\$\w+\s+[0-9]?>&/ ascii
        $loop3 = /while\s+read\s+(-r\s+)?\w+\s*;?\s*do\s+(eval\s+)?["']?\$\{?\w+\}?["']?\s*[0-9]?[<>]&\s*[0-9]/ ascii
        $awk1 = /\/inet[46]?\/tcp\/0\/[A-Za-z0-9.\-]{1,253}\/[0-9]{1,5}/ ascii
        $awk2 = /\|&\s*getline\s+\w+/ ascii
        $awk3 = /\(\s*\w+\s*\|&\s*getline\s*\)\s*>\s*0/ ascii
    condition:
        (filesize < 8MB and ($i or $r or ($fd and any of ($loop*)) or
         ($awk1 and $awk2 and $awk3 and not SW_DOC_FILE)))
}

rule SW_REVSHELL_NETCAT
{
    meta:
        id = "SW-REVSHELL-NETCAT"
        severity = "critical"
        category = "reverse-shell"
        title = "Reverse or bind shell through netcat / telnet / openssl"
        max_size = "8MB"
        description = "nc/ncat/netcat with -e or -c running a shell, or a named pipe (mkfifo/mknod p) looping a shell through nc, telnet or openssl s_client."
    strings:
        $e = /\b(nc|ncat|netcat|nc\.traditional|nc\.openbsd)\s[^\n|;&]{0,100}-[a-zA-Z]*[ec]\s*["']?((\/usr)?\/bin\/)?(ba|z|k|da|a)?sh\b/ ascii
        $fifo = /\bmkfifo\s+\S+[^\n]{0,160}\|\s*((\/usr)?\/bin\/)?(ba|z|k|da|a)?sh\s+-i[^\n]{0,100}\|\s*(nc|ncat|netcat|telnet|openssl\s+s_client)\s/ ascii
        $fifo2 = /\bmkfifo\s+\S+[^\n]{0,160}((\/usr)?\/bin\/)?(ba|z|k|da|a)?sh\s+-i\s*<\s*\S+[^\n]{0,60}\|\s*(nc|ncat|netcat|telnet|openssl\s+s_client)\s/ ascii
        $mknod = /\bmknod\s+\S+\s+p\b[^\n]{0,160}((\/usr)?\/bin\/)?(ba|z|k|da|a)?sh\s[^\n]{0,60}\|\s*(nc|ncat|netcat|telnet)\s/ ascii
        $telnet = /\btelnet\s+\S+\s+[0-9]{1,5}\s*\|\s*((\/usr)?\/bin\/)?(ba|z|k|da|a)?sh\s*\|\s*telnet\s/ ascii
    condition:
        (filesize < 8MB and any of them)
}

rule SW_REVSHELL_SOCAT
{
    meta:
        id = "SW-REVSHELL-SOCAT"
        severity = "critical"
        category = "reverse-shell"
        title = "Reverse or bind shell through socat"
        max_size = "8MB"
        description = "socat joining a TCP connection (to HOST:PORT, or a listener) with EXEC/SYSTEM of a shell, often with pty,stderr,setsid."
    strings:
        $tcp = /\bsocat\s[^\n]{0,300}\btcp[46]?(-connect)?:[A-Za-z0-9.\-]{1,253}:[0-9]{1,5}/ ascii nocase
        $listen = /\bsocat\s[^\n]{0,300}\btcp[46]?-listen:[0-9]{1,5}/ ascii nocase
        $exec = /\bsocat\s[^\n]{0,300}\b(exec|system):["']?((\/usr)?\/bin\/)?(ba|z|k|da|a)?sh\b/ ascii nocase
    condition:
        (filesize < 8MB and $exec and ($tcp or $listen) and
         not (filepath matches /^\/usr\/share\/(doc|man)\//))
}

rule SW_REVSHELL_PYTHON
{
    meta:
        id = "SW-REVSHELL-PYTHON"
        severity = "critical"
        category = "reverse-shell"
        title = "Python reverse shell"
        max_size = "1MB"
        description = "A socket connected to an address, duplicated onto stdin/stdout/stderr (dup2 of its fileno, or passed as the shell's stdin), and a shell started with pty.spawn or subprocess."
    strings:
        $sock = "socket" ascii
        $connect = /\.connect\(\(\s*[^\n,()]{1,100},\s*[^\n()]{1,40}\)\)/ ascii
        $dup = /dup2\(\s*[\w.]+\.fileno\(\)\s*,\s*[012]\s*\)/ ascii
        $fd = /stdin\s*=\s*[\w.]+\.fileno\(\)/ ascii
        $sh1 = /pty\.spawn\(\s*["']((\/usr)?\/bin\/)?(ba|z|k|da|a)?sh["']/ ascii
        $sh2 = /(subprocess\.(call|Popen|run)|os\.system|os\.exec[lv]p?e?)\(\s*\[?\s*["']((\/usr)?\/bin\/)?(ba|z|k|da|a)?sh["']/ ascii
        $sh3 = /["']((\/usr)?\/bin\/)?(ba|z|k|da|a)?sh["']\s*,\s*["']-i["']/ ascii
    condition:
        (filesize < 1MB and $sock and $connect and ($dup or $fd) and any of ($sh*))
}

rule SW_REVSHELL_PERL
{
    meta:
        id = "SW-REVSHELL-PERL"
        severity = "critical"
        category = "reverse-shell"
        title = "Perl reverse shell"
        max_size = "1MB"
        description = "A Perl socket (socket/connect or IO::Socket::INET) whose handle becomes STDIN/STDOUT (open STDIN, \">&S\" or fdopen) and a shell run with exec or system."
    strings:
        $s1 = /socket\s*\(\s*\w+\s*,\s*PF_INET\s*,\s*SOCK_STREAM/ ascii
        $s2 = /IO::Socket::INET\s*(->)?\s*new\s*\(\s*["']?PeerAddr/ ascii
        $s3 = /new\s+IO::Socket::INET\s*\(\s*["']?PeerAddr/ ascii
        $c = /connect\s*\(\s*\w+\s*,\s*sockaddr_in\s*\(/ ascii
        $d1 = /open\s*\(\s*STD(IN|OUT|ERR)\s*,\s*["'][<>]&\s*\w+["']?\s*\)/ ascii
        $d2 = /STD(IN|OUT)->fdopen\s*\(\s*\$\w+/ ascii
        $x1 = /exec\s*\(?\s*["']((\/usr)?\/bin\/)?(ba|z|k|da|a)?sh(\s+-i)?["']/ ascii
        $x2 = /system\s*\$_\s*while\s*<>/ ascii
    condition:
        (filesize < 1MB and (($s1 and $c) or $s2 or $s3) and any of ($d*) and any of ($x*))
}

rule SW_REVSHELL_PHP
{
    meta:
        id = "SW-REVSHELL-PHP"
        severity = "critical"
        category = "reverse-shell"
        title = "PHP reverse shell"
        max_size = "1MB"
        description = "fsockopen to an address together with a shell started on the socket (exec/system/proc_open of sh -i, or <&3 >&3 redirection)."
    strings:
        $sock = /fsockopen\s*\(/ ascii nocase
        $x1 = /(exec|shell_exec|system|passthru|popen|proc_open)\s*\(\s*["']((\/usr)?\/bin\/)?(ba|z|k|da|a)?sh\s+-i/ ascii nocase
        $x2 = /["'][^"'\n]{0,80}((\/usr)?\/bin\/)?(ba|z|k|da|a)?sh\s+-i\b/ ascii
        $x3 = /<&\s*3\s+>&\s*3\s+2>&\s*3/ ascii
        $f = /(proc_open|shell_exec|passthru|popen|exec|system)\s*\(/ ascii nocase
    condition:
        (filesize < 1MB and $sock and ($x1 or (($x2 or $x3) and $f)))
}

rule SW_REVSHELL_RUBY_NODE
{
    meta:
        id = "SW-REVSHELL-RUBY-NODE"
        severity = "critical"
        category = "reverse-shell"
        title = "Ruby or Node.js reverse shell"
        max_size = "1MB"
        description = "Ruby TCPSocket with exec of a shell on the socket's descriptors, or a Node net socket piped into a spawned shell's stdin/stdout."
    strings:
        $rb1 = /TCPSocket\.(new|open)\s*\(/ ascii
        $rb2 = /exec\s*\(?\s*(sprintf\s*\(\s*)?["']((\/usr)?\/bin\/)?(ba|z|k|da|a)?sh\s+-i\s*<&/ ascii
        $rb3 = /IO\.popen\s*\(\s*["']((\/usr)?\/bin\/)?(ba|z|k|da|a)?sh/ ascii
        $js1 = /(new\s+net\.Socket\s*\(|net\.connect\s*\(|net\.createConnection\s*\()/ ascii
        $js2 = /spawn\s*\(\s*["']((\/usr)?\/bin\/)?(ba|z|k|da|a)?sh["']/ ascii
        $js3 = /\.pipe\s*\(\s*\w+\.stdin\s*\)/ ascii
        $js4 = /\.stdout\.pipe\s*\(\s*\w+\s*\)/ ascii
    condition:
        (filesize < 1MB and (($rb1 and ($rb2 or $rb3)) or ($js1 and $js2 and $js3 and $js4)))
}
