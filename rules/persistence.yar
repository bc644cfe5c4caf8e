/*
 * stowaway bundled rules: persistence planted in an image.
 *
 * These rules depend on where a file is (the external variable filepath,
 * the absolute path inside the image): cron packages ship cron files,
 * systemd ships units, openssh ships documentation about authorized_keys.
 * What is reported is a start-up location whose content fetches from the
 * network, runs from a world-writable or hidden directory, decodes a
 * payload, opens a reverse shell or names a miner; or a file that has no
 * business in an image at all (/etc/ld.so.preload, root's authorized_keys).
 */

/* What a start-up file should not do. Shared by the location rules, all
 * of which stop at 1 MB: so does this one (its strings are then never
 * searched in larger files). */
private rule SW_PERSIST_BAD_CONTENT
{
    meta:
        max_size = "1MB"
    strings:
        $fetch_pipe = /\b(curl|wget)\s[^\n|;]{0,300}\|\s*(sudo\s+)?((\/usr)?\/bin\/)?(ba|da|z|k|a)?sh\b/ ascii
        $fetch_subst = /\$\(\s*(curl|wget)\s[^\n)]{0,300}\)/ ascii
        $fetch_tmp = /\b(curl|wget)\s[^\n]{0,300}(-o|-O|--output(-document)?|>|-P)\s*["']?(\/tmp|\/var\/tmp|\/dev\/shm)\b/ ascii
        $fetch_py = /python[0-9.]*\s+-c\s+["'][^\n]{0,200}(urllib|urlopen|requests\.get|socket)/ ascii
        $fetch_tcp = /\/dev\/(tcp|udp)\/[A-Za-z0-9.\-]{1,253}\/[0-9]{1,5}/ ascii
        $decode1 = /base64\s+(-d|--decode|-D)\b[^\n|]{0,100}\|\s*(sudo\s+)?((\/usr)?\/bin\/)?(ba|da|z|k|a)?sh\b/ ascii
        $decode2 = /(\beval|\bexec|\bsh\s+-c|\bbash\s+-c)\s+["']?\$\([^\n)]{0,2000}base64\s+(-d|--decode|-D)/ ascii
        $tmp_run1 = /(\bnohup|\bsetsid|\bexec|\bsh|\bbash|\bsource|(^|[\s;&|])\.)\s+["']?(\/tmp|\/var\/tmp|\/dev\/shm)\/[^\s;&|"']+/ ascii
        $tmp_run2 = /(^|[^\\\n]\n|\n\n|;|&&|\|\||\bthen|\bdo|`|\$\()\s*(\/tmp|\/var\/tmp|\/dev\/shm)\/[^\s;&|"'\\]+(\s+[^\n\\]{0,200})?\s*(&|;|\n|`|\))/ ascii
        $cron_tmp = /[0-9*@][0-9*\/,\-a-z]*\s+[0-9*][0-9*\/,\-]*\s+[0-9*][0-9*\/,\-]*\s+[0-9*][0-9*\/,\-a-zA-Z]*\s+[0-9*][0-9*\/,\-a-zA-Z]*\s+([a-z_][a-z0-9_\-]*\s+)?(nohup\s+|(ba)?sh\s+)?["']?(\/tmp|\/var\/tmp|\/dev\/shm)\/[^\s;&|"']+/ ascii
        $cron_at = /@(reboot|hourly|daily|weekly|monthly|yearly|annually|midnight)\s+([a-z_][a-z0-9_\-]*\s+)?(nohup\s+|(ba)?sh\s+)?["']?(\/tmp|\/var\/tmp|\/dev\/shm|\/\.[^\/\s]+|\/[^\s]*\/\.[^\/\s]+)\// ascii
        $hidden_run = /(nohup|setsid|exec)\s+["']?(\/[A-Za-z0-9_.\-]+)*\/\.[A-Za-z0-9_\-][^\/\s]*\/[^\s;&|"']+/ ascii
        $preload = /LD_PRELOAD=["']?(\/tmp|\/var\/tmp|\/dev\/shm|(\/[A-Za-z0-9_.\-]+)*\/\.[A-Za-z0-9_\-])/ ascii
        $miner = /\b(xmrig|xmr-stak|minerd|cpuminer|kdevtmpfsi|kinsing|stratum\+(tcp|ssl|tls))\b/ ascii nocase
    condition:
        filesize < 1MB and any of them
}

rule SW_PERSIST_CRON
{
    meta:
        id = "SW-PERSIST-CRON"
        severity = "critical"
        category = "persistence"
        title = "Cron job that downloads, decodes or runs from /tmp"
        max_size = "1MB"
        description = "A crontab or /etc/cron.* file whose job pipes a download into a shell, writes into /tmp or /dev/shm, runs a program from a world-writable or hidden directory, runs decoded base64, opens /dev/tcp or names a miner."
    condition:
        filesize < 1MB and
        (filepath matches /^\/etc\/cron\.(d|hourly|daily|weekly|monthly|yearly)\/[^\/]+$/
         or filepath == "/etc/crontab" or filepath == "/etc/anacrontab"
         or filepath matches /^\/var\/spool\/cron\/(crontabs\/|tabs\/)?[^\/]+$/)
        and SW_PERSIST_BAD_CONTENT
}

rule SW_PERSIST_SHELL_STARTUP
{
    meta:
        id = "SW-PERSIST-SHELL-STARTUP"
        severity = "critical"
        category = "persistence"
        title = "Login/shell start-up file that downloads, decodes or runs from /tmp"
        max_size = "1MB"
        description = "/etc/profile, /etc/profile.d/*, bash.bashrc, /etc/environment or a user's .bashrc/.profile that fetches and runs code, runs from /tmp or a hidden directory, runs decoded base64, sets LD_PRELOAD to such a place, or names a miner."
    condition:
        filesize < 1MB and
        (filepath matches /^\/etc\/(profile|bash\.bashrc|bashrc|environment|zshrc|zprofile|zsh\/zshrc|zsh\/zprofile|zsh\/zshenv)$/
         or filepath matches /^\/etc\/profile\.d\/[^\/]+$/
         or filepath matches /^\/(root|home\/[^\/]+|etc\/skel)\/\.(bashrc|profile|bash_profile|bash_login|bash_logout|zshrc|zprofile|zshenv|zlogin)$/)
        and SW_PERSIST_BAD_CONTENT
}

rule SW_PERSIST_INIT_SCRIPT
{
    meta:
        id = "SW-PERSIST-INIT-SCRIPT"
        severity = "critical"
        category = "persistence"
        title = "rc.local / init script / motd script that downloads, decodes or runs from /tmp"
        max_size = "1MB"
        description = "/etc/rc.local, /etc/init.d/*, /etc/rc*.d/* or /etc/update-motd.d/* that fetches and runs code, runs from /tmp or a hidden directory, runs decoded base64, opens /dev/tcp or names a miner."
    condition:
        filesize < 1MB and
        (filepath == "/etc/rc.local" or filepath == "/etc/rc.d/rc.local"
         or filepath matches /^\/etc\/(init\.d|rc[0-6S]\.d|rc\.d\/init\.d|update-motd\.d)\/[^\/]+$/)
        and SW_PERSIST_BAD_CONTENT
}

rule SW_PERSIST_SYSTEMD
{
    meta:
        id = "SW-PERSIST-SYSTEMD"
        severity = "critical"
        category = "persistence"
        title = "systemd unit that runs from /tmp, a hidden directory, or fetches code"
        max_size = "256KB"
        description = "A .service/.timer unit whose ExecStart (or ExecStartPre/Post) runs a program from /tmp, /var/tmp, /dev/shm or a hidden directory, pipes a download into a shell, decodes base64, or names a miner."
    strings:
        $tmp = /\nExec(Start|StartPre|StartPost|Reload|Stop)\s*=\s*[-@+!:]*\s*(\/usr)?(\/bin\/)?((ba)?sh\s+(-c\s+)?["']?)?(nohup\s+)?(\/tmp|\/var\/tmp|\/dev\/shm)\// ascii
        $hidden = /\nExec(Start|StartPre|StartPost)\s*=\s*[-@+!:]*\s*(\/usr)?(\/bin\/)?((ba)?sh\s+(-c\s+)?["']?)?(nohup\s+)?\/(usr|var|etc|opt|lib|lib64|bin|sbin|srv|root|tmp)(\/[^\/\s]+)*\/\.[A-Za-z0-9_\-][^\/\s]*\/[^\s]+/ ascii
        $fetch = /\nExec(Start|StartPre|StartPost)\s*=[^\n]{0,300}\b(curl|wget)\s[^\n]{0,300}(\|\s*(ba|da|z|k|a)?sh\b|(-o|-O|>)\s*["']?(\/tmp|\/var\/tmp|\/dev\/shm)\/)/ ascii
        $decode = /\nExec(Start|StartPre|StartPost)\s*=[^\n]{0,1000}base64\s+(-d|--decode)/ ascii
        $devtcp = /\nExec(Start|StartPre|StartPost)\s*=[^\n]{0,300}\/dev\/tcp\/[A-Za-z0-9.\-]{1,253}\/[0-9]{1,5}/ ascii
        $miner = /\nExec(Start|StartPre|StartPost)\s*=[^\n]{0,300}\b(xmrig|xmr-stak|minerd|cpuminer|kdevtmpfsi|kinsing|stratum\+(tcp|ssl))\b/ ascii nocase
    condition:
        filesize < 256KB and
        (filepath matches /^\/(etc|lib|usr\/lib|usr\/local\/lib|run)\/systemd\/(system|user)\/.*\.(service|timer|socket|path)(\.d\/[^\/]+\.conf)?$/
         or filepath matches /^\/(root|home\/[^\/]+)\/\.config\/systemd\/user\//)
        and any of them
}

rule SW_PERSIST_LD_PRELOAD
{
    meta:
        id = "SW-PERSIST-LD-PRELOAD"
        severity = "high"
        category = "persistence"
        title = "/etc/ld.so.preload in the image (library forced into every process)"
        description = "/etc/ld.so.preload loads its libraries into every dynamically linked program; no Debian package ships one. Userland rootkits (libprocesshider, used by TeamTNT and others to hide miners) are installed this way."
    condition:
        filepath == "/etc/ld.so.preload" and filesize > 0
}

rule SW_PERSIST_SSH_KEY_ROOT
{
    meta:
        id = "SW-PERSIST-SSH-KEY-ROOT"
        severity = "high"
        category = "persistence"
        title = "SSH key authorised for root, baked into the image"
        max_size = "1MB"
        description = "/root/.ssh/authorized_keys with a public key: whoever holds the private key logs in as root to every container started from the image. Cryptojacking groups (TeamTNT and others) add their key this way."
    strings:
        $k1 = "ssh-rsa AAAA" ascii
        $k2 = "ssh-ed25519 AAAA" ascii
        $k3 = "ssh-dss AAAA" ascii
        $k4 = /ecdsa-sha2-nistp(256|384|521) AAAA/ ascii
        $k5 = /sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com AAAA/ ascii
    condition:
        filesize < 1MB and filepath matches /^\/root\/\.ssh\/authorized_keys2?$/ and any of them
}

rule SW_PERSIST_SSH_KEY_USER
{
    meta:
        id = "SW-PERSIST-SSH-KEY-USER"
        severity = "medium"
        category = "persistence"
        title = "SSH key authorised for a user, baked into the image"
        max_size = "1MB"
        description = "A user's ~/.ssh/authorized_keys with a public key shipped in the image: anyone with the matching private key can log in to every container that runs sshd. Sometimes deliberate (CI images), so medium."
    strings:
        $k1 = "ssh-rsa AAAA" ascii
        $k2 = "ssh-ed25519 AAAA" ascii
        $k3 = "ssh-dss AAAA" ascii
        $k4 = /ecdsa-sha2-nistp(256|384|521) AAAA/ ascii
        $k5 = /sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com AAAA/ ascii
    condition:
        filesize < 1MB and
        filepath matches /^\/(home\/[^\/]+|var\/lib\/[^\/]+|srv\/[^\/]+|opt\/[^\/]+)\/\.ssh\/authorized_keys2?$/ and
        any of them
}
