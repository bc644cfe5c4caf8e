/*
 * stowaway bundled rules: cryptocurrency miners.
 *
 * Precision first: a single generic word ("monero", "stratum", "pool") is in
 * plenty of honest files (documentation, crypto libraries, the JDK's module
 * image). Each rule asks for several miner-specific facts together: option
 * names from a miner's command-line table, pool protocol strings, algorithm
 * names, pool host names with a port.
 *
 * Layout: one rule per miner family first (binary or the command line that
 * starts it), then configuration files and launcher scripts, then generic
 * rules (stratum clients, pool addresses, wallets) that only fire when no
 * more specific rule already explains the file, so one file gives one
 * miner finding, not five. SW-MINER-PE is the exception: a Windows miner
 * is also reported as such next to its family. Rule packs that quote these
 * strings are flagged like anything else: excusing "text that looks like a
 * YARA rule" would give attackers a way to hide (stowaway stores its own
 * rules masked, so its binary does not match them).
 *
 * Scans run in YARA's fast mode: a string's match count (#s) is not
 * reliable there, so conditions count distinct strings (N of them), never
 * occurrences.
 */

/* ------------------------------------------------------------ families */

rule SW_MINER_XMRIG
{
    meta:
        id = "SW-MINER-XMRIG"
        severity = "critical"
        category = "miner"
        title = "XMRig cryptocurrency miner (or a fork)"
        description = "Option table and protocol strings of XMRig: donate level, RandomX/CryptoNight algorithms, stratum login. Renamed forks are caught by four XMRig-only options together."
    strings:
        $name1 = "xmrig" ascii nocase
        $name2 = "XMRig" wide
        $opt1 = "--donate-level" ascii
        $opt2 = "--cpu-max-threads-hint" ascii
        $opt3 = "--randomx-1gb-pages" ascii
        $opt4 = "--randomx-mode" ascii
        $opt5 = "--randomx-no-numa" ascii
        $opt6 = "--randomx-wrmsr" ascii
        $opt7 = "--huge-pages-jit" ascii
        $opt8 = "--cpu-no-yield" ascii
        $opt9 = "--donate-over-proxy" ascii
        $opt10 = "--health-print-time" ascii
        $opt11 = "--randomx-init" ascii
        $algo1 = "rx/0" ascii
        $algo2 = "cn/r" ascii
        $algo3 = "randomx" ascii nocase
        $algo4 = "cryptonight" ascii nocase
        $algo5 = "cn-heavy" ascii
        $algo6 = "argon2/chukwa" ascii
        $proto1 = "mining.subscribe" ascii
        $proto2 = "\"method\":\"login\"" ascii
        $proto3 = "stratum+tcp://" ascii
        $proto4 = "stratum+ssl://" ascii
        $proto5 = "\"method\":\"submit\"" ascii
        $donate1 = "donate.v2.xmrig.com" ascii
        $donate2 = "donate.ssl.xmrig.com" ascii
    condition:
        ((any of ($name*) and 2 of ($opt*) and 1 of ($algo*) and 1 of ($proto*))
         or (4 of ($opt*) and 1 of ($algo*) and 1 of ($proto*))
         or (any of ($donate*) and 1 of ($opt*) and 1 of ($algo*)))
}

rule SW_MINER_XMRSTAK
{
    meta:
        id = "SW-MINER-XMRSTAK"
        severity = "critical"
        category = "miner"
        title = "xmr-stak cryptocurrency miner"
        max_size = "64MB"
        description = "xmr-stak's name with its command-line switches (--noCPU, --noAMD, --currency...) or its pools.txt/config.txt keys."
    strings:
        $name1 = "xmr-stak" ascii wide nocase
        $name2 = "xmrstak" ascii nocase
        $opt1 = "--noCPU" ascii
        $opt2 = "--noAMD" ascii
        $opt3 = "--noNVIDIA" ascii
        $opt4 = "--currency" ascii
        $opt5 = "--use-nicehash" ascii
        $opt6 = "--openCLVendor" ascii
        $opt7 = "--noAMDCache" ascii
        $opt8 = "--benchwork" ascii
        $key1 = "pool_address" ascii
        $key2 = "wallet_address" ascii
        $key3 = "pool_password" ascii
        $key4 = "pool_weight" ascii
        $key5 = "cpu_threads_conf" ascii
        $key6 = "low_power_mode" ascii
        $key7 = "tls_fingerprint" ascii
    condition:
        (filesize < 64MB and any of ($name*) and (2 of ($opt*) or 2 of ($key*)))
}

rule SW_MINER_CPUMINER
{
    meta:
        id = "SW-MINER-CPUMINER"
        severity = "critical"
        category = "miner"
        title = "cpuminer / minerd / ccminer cryptocurrency miner"
        max_size = "64MB"
        description = "pooler cpuminer (minerd), cpuminer-multi, cpuminer-opt and ccminer: the program name with options only these miners have (--coinbase-addr, --no-getwork, --no-gbt, --scantime...)."
    strings:
        $name1 = /\b(minerd|cpuminer(-multi|-opt)?|ccminer)\b/ ascii
        $opt1 = "--coinbase-addr" ascii
        $opt2 = "--coinbase-sig" ascii
        $opt3 = "--no-getwork" ascii
        $opt4 = "--no-gbt" ascii
        $opt5 = "--no-longpoll" ascii
        $opt6 = "--no-stratum" ascii
        $opt7 = "--scantime" ascii
        $opt8 = "--retry-pause" ascii
        $opt9 = "--no-extranonce" ascii
        $opt10 = "--protocol-dump" ascii
        $opt11 = "--hash-meter" ascii
        $opt12 = "--stratum-keepalive" ascii
    condition:
        (filesize < 64MB and $name1 and 2 of ($opt*))
}

rule SW_MINER_TREX
{
    meta:
        id = "SW-MINER-TREX"
        severity = "critical"
        category = "miner"
        title = "T-Rex GPU cryptocurrency miner"
        max_size = "64MB"
        description = "T-Rex (NVIDIA) miner: its name with options from its command-line table (--api-bind-http, --lhr-tune, --exit-on-cuda-error...)."
    strings:
        $name1 = "T-Rex" ascii wide fullword
        $name2 = "t-rex" ascii fullword
        $name3 = "trex-miner" ascii nocase
        $opt1 = "--api-bind-http" ascii
        $opt2 = "--api-bind-telnet" ascii
        $opt3 = "--gpu-report-interval" ascii
        $opt4 = "--lhr-tune" ascii
        $opt5 = "--lhr-autotune-mode" ascii
        $opt6 = "--exit-on-cuda-error" ascii
        $opt7 = "--reconnect-on-fail-shares" ascii
        $opt8 = "--keep-gpu-busy" ascii
        $opt9 = "--dag-build-mode" ascii
        $opt10 = "--back-to-main-pool-sec" ascii
        $opt11 = "--script-epoch-change" ascii
        $opt12 = "--extra-dag-epoch" ascii
    condition:
        (filesize < 64MB and any of ($name*) and 2 of ($opt*))
}

rule SW_MINER_LOLMINER
{
    meta:
        id = "SW-MINER-LOLMINER"
        severity = "critical"
        category = "miner"
        title = "lolMiner GPU cryptocurrency miner"
        max_size = "64MB"
        description = "lolMiner: its name with options from its command-line table (--dualpool, --ethstratum, --zombie-tune...)."
    strings:
        $name = "lolminer" ascii wide nocase
        $opt1 = "--dualmode" ascii
        $opt2 = "--dualpool" ascii
        $opt3 = "--dualuser" ascii
        $opt4 = "--ethstratum" ascii
        $opt5 = "--zombie-tune" ascii
        $opt6 = "--4g-alloc-size" ascii
        $opt7 = "--watchdogscript" ascii
        $opt8 = "--singlethread-dag" ascii
        $opt9 = "--apiport" ascii
        $opt10 = "--lhrtune" ascii
        $opt11 = "--disable-dag-verify" ascii
    condition:
        (filesize < 64MB and $name and 2 of ($opt*))
}

rule SW_MINER_NBMINER
{
    meta:
        id = "SW-MINER-NBMINER"
        severity = "critical"
        category = "miner"
        title = "NBMiner GPU cryptocurrency miner"
        max_size = "64MB"
        description = "NBMiner: its name with options from its command-line table (--cuckoo-intensity, --enable-dag-cache, --fidelity-timeframe...)."
    strings:
        $name = "nbminer" ascii wide nocase
        $opt1 = "--cuckoo-intensity" ascii
        $opt2 = "--cuckatoo-power-optimize" ascii
        $opt3 = "--enable-dag-cache" ascii
        $opt4 = "--fidelity-timeframe" ascii
        $opt5 = "--generate-config" ascii
        $opt6 = "--lhr-mode" ascii
        $opt7 = "--share-check" ascii
        $opt8 = "--long-format" ascii
        $opt9 = "--no-interrupt" ascii
        $opt10 = "--no-nvml" ascii
        $opt11 = "--secondary-intensity" ascii
    condition:
        (filesize < 64MB and $name and 2 of ($opt*))
}

rule SW_MINER_GMINER
{
    meta:
        id = "SW-MINER-GMINER"
        severity = "critical"
        category = "miner"
        title = "GMiner GPU cryptocurrency miner"
        max_size = "64MB"
        description = "GMiner: its name with options from its command-line table (--dual_server, --electricity_cost, --templimit...)."
    strings:
        $name = /\bgminer\b/ ascii nocase
        $opt1 = "--dual_server" ascii
        $opt2 = "--dual_user" ascii
        $opt3 = "--dual_worker" ascii
        $opt4 = "--electricity_cost" ascii
        $opt5 = "--templimit" ascii
        $opt6 = "--watchdog_restart_delay" ascii
        $opt7 = "--log_stratum" ascii
        $opt8 = "--log_newjob" ascii
        $opt9 = "--dag_mode" ascii
        $opt10 = "--lhr_tune" ascii
        $opt11 = "--share_check" ascii
        $opt12 = "--ssl_verification" ascii
    condition:
        (filesize < 64MB and $name and 2 of ($opt*))
}

rule SW_MINER_PHOENIX
{
    meta:
        id = "SW-MINER-PHOENIX"
        severity = "critical"
        category = "miner"
        title = "PhoenixMiner / Claymore GPU cryptocurrency miner"
        max_size = "64MB"
        description = "PhoenixMiner (and the Claymore option set it copies): its name with its single-dash options (-epsw, -cdmport, -dagrestart...), or four such options together."
    strings:
        $name1 = "phoenixminer" ascii wide nocase
        $name2 = "claymore" ascii wide nocase
        $opt1 = /(^|[\s"',])-epsw\b/ ascii
        $opt2 = /(^|[\s"',])-ewal\b/ ascii
        $opt3 = /(^|[\s"',])-epool\b/ ascii
        $opt4 = /(^|[\s"',])-cdmport\b/ ascii
        $opt5 = /(^|[\s"',])-dagrestart\b/ ascii
        $opt6 = /(^|[\s"',])-lidag\b/ ascii
        $opt7 = /(^|[\s"',])-rvram\b/ ascii
        $opt8 = /(^|[\s"',])-minRigSpeed\b/ ascii
        $opt9 = /(^|[\s"',])-clKernel\b/ ascii
        $opt10 = /(^|[\s"',])-nvKernel\b/ ascii
        $opt11 = /(^|[\s"',])-daglim\b/ ascii
        $opt12 = /(^|[\s"',])-cdmpass\b/ ascii
        $opt13 = /(^|[\s"',])-dpool\b/ ascii
        $opt14 = /(^|[\s"',])-dwal\b/ ascii
    condition:
        (filesize < 64MB and ((any of ($name*) and 2 of ($opt*)) or 4 of ($opt*)))
}

rule SW_MINER_SRBMINER
{
    meta:
        id = "SW-MINER-SRBMINER"
        severity = "critical"
        category = "miner"
        title = "SRBMiner cryptocurrency miner"
        max_size = "64MB"
        description = "SRBMiner(-MULTI): its name with options from its command-line table (--disable-cpu, --gpu-boost, --give-up-limit...)."
    strings:
        $name = "srbminer" ascii wide nocase
        $opt1 = "--disable-cpu" ascii
        $opt2 = "--disable-gpu" ascii
        $opt3 = "--gpu-boost" ascii
        $opt4 = "--give-up-limit" ascii
        $opt5 = "--disable-worker-watchdog" ascii
        $opt6 = "--enable-workers-ramp-up" ascii
        $opt7 = "--max-no-share-sent" ascii
        $opt8 = "--randomx-use-1gb-pages" ascii
        $opt9 = "--api-rig-name" ascii
        $opt10 = "--cpu-threads" ascii
        $opt11 = "--algorithm" ascii
        $opt12 = "--wallet" ascii
    condition:
        (filesize < 64MB and $name and 2 of ($opt*))
}

/* Any family above: generic rules below step aside for these. */
private rule SW_MINER_FAMILY
{
    condition:
        SW_MINER_XMRIG or SW_MINER_XMRSTAK or SW_MINER_CPUMINER or SW_MINER_TREX or
        SW_MINER_LOLMINER or SW_MINER_NBMINER or SW_MINER_GMINER or SW_MINER_PHOENIX or
        SW_MINER_SRBMINER
}

/* ------------------------------------------------- configs and launchers */

rule SW_MINER_STRATUM_CONFIG
{
    meta:
        id = "SW-MINER-CONFIG"
        severity = "high"
        category = "miner"
        title = "Miner configuration: a stratum pool with a wallet or worker login"
        max_size = "1MB"
        description = "A small text file naming a mining pool (stratum URL, or a pool host:port in a pools list) together with the fields a miner logs in with: XMRig/cpuminer JSON, xmr-stak pools.txt, or XMRig's own config keys."
    strings:
        $url = /stratum[0-9]?\+(tcp|ssl|tls):\/\/[a-zA-Z0-9.\-]{3,100}:[0-9]{2,5}/
        $k1 = "\"user\"" ascii
        $k2 = "\"pass\"" ascii
        $k3 = "\"pools\"" ascii
        $k4 = "\"algo\"" ascii
        $k5 = "\"rig-id\"" ascii
        $k6 = "\"wallet\"" ascii
        $k7 = "\"coin\"" ascii
        $k8 = "\"userpass\"" ascii
        $poolurl = /"url"\s*:\s*"[a-zA-Z0-9.\-]{3,100}:[0-9]{2,5}"/
        $x1 = "\"donate-level\"" ascii
        $x2 = "\"donate-over-proxy\"" ascii
        $x3 = "\"max-threads-hint\"" ascii
        $x4 = "\"huge-pages\"" ascii
        $x5 = "\"1gb-pages\"" ascii
        $x6 = "\"randomx\"" ascii
        $x7 = "\"nicehash\"" ascii
        $x8 = "\"keepalive\"" ascii
        $s1 = "\"pool_address\"" ascii
        $s2 = "\"wallet_address\"" ascii
        $s3 = "\"pool_password\"" ascii
        $s4 = "\"pool_weight\"" ascii
        $s5 = "\"use_nicehash\"" ascii
        $s6 = "\"use_tls\"" ascii
        $s7 = "\"rig_id\"" ascii
    condition:
        (filesize < 1MB and not SW_MINER_FAMILY and (
             ($url and 2 of ($k*))
             or ($poolurl and $k1 and $k3 and 2 of ($x*))
             or ($s1 and $s2 and 2 of ($s*))
         ))
}

rule SW_MINER_LAUNCHER
{
    meta:
        id = "SW-MINER-LAUNCHER"
        severity = "critical"
        category = "miner"
        title = "Script that starts a cryptocurrency miner"
        max_size = "1MB"
        description = "A shell, Python, Node, Perl or PHP script (like the dao.py launcher of poisoned openjdk images) that starts a process with a miner's command line: a miner's name or mining options together with a pool address or a Monero wallet."
    strings:
        /* starting a process */
        $run1 = /\bnohup\s/ ascii
        $run2 = /subprocess\.(Popen|call|run|check_call|check_output)\s*\(/ ascii
        $run3 = /os\.(system|popen|exec[lv]p?e?|spawn[lv]p?e?)\s*\(/ ascii
        $run4 = "child_process" ascii
        $run5 = /\b(spawn|execSync|execFile|spawnSync)\s*\(/ ascii
        $run6 = /\b(system|exec|shell_exec|passthru|proc_open|popen)\s*\(/ ascii
        $run7 = /\bscreen\s+-[dmS]{2,4}\s/ ascii
        $run8 = /\bsetsid\s/ ascii
        $run9 = /start-stop-daemon\s[^\n]{0,100}--start/ ascii
        $run10 = /\bexec\s+["']?(\.{0,2}\/)/ ascii
        $run11 = /\.\/[\w.\-]+\s+-(o|c|-url|-config)[\s=]/ ascii
        /* a miner program by name */
        $miner = /\b(xmrig|xmr-stak(-rx)?|xmrstak|minerd|cpuminer(-multi|-opt)?|ccminer|t-rex|lolMiner|nbminer|PhoenixMiner|SRBMiner(-MULTI)?|nanominer|teamredminer|ethminer|bzminer|wildrig(-multi)?|xmr-node-proxy|kdevtmpfsi)\b/ ascii nocase
        /* where it mines to */
        $pool1 = /stratum[0-9]?\+(tcp|ssl|tls):\/\/[a-zA-Z0-9.\-]{3,100}:[0-9]{2,5}/ ascii
        $pool2 = /(-o|--url|--pool|-pool|--server|-P)["']?\s*[=, ]\s*["']?[a-zA-Z0-9][a-zA-Z0-9.\-]{2,100}:[0-9]{2,5}\b/ ascii
        $pool3 = /(supportxmr\.com|nanopool\.org|minexmr\.com|2miners\.com|f2pool\.com|hashvault\.pro|moneroocean\.stream|c3pool\.(com|org)|herominers\.com|unmineable\.com|xmrpool\.eu|nicehash\.com|ethermine\.org|minergate\.com|monerohash\.com|xmrig\.com)/ ascii nocase
        $wallet1 = /[\s"'=:,\/]4[0-9AB][1-9A-HJ-NP-Za-km-z]{93}\b/ ascii
        $wallet2 = /[\s"'=:,\/]8[0-9AB][1-9A-HJ-NP-Za-km-z]{93}\b/ ascii
        $wallet3 = /[\s"'=:,\/]4[0-9AB][1-9A-HJ-NP-Za-km-z]{104}\b/ ascii
        /* mining options */
        $opt1 = "--donate-level" ascii
        $opt2 = "--cpu-max-threads-hint" ascii
        $opt3 = /(-a|--algo|--algorithm)["']?\s*[=, ]\s*["']?(rx\/0|rx\/wow|cn\/r|cn\/half|randomx|cryptonight|kawpow|ethash|etchash|autolykos2?|argon2\/chukwa|ghostrider|gr)\b/ ascii
        $opt4 = /--coin["']?\s*[=, ]\s*["']?(monero|xmr)\b/ ascii nocase
        $opt5 = /(-u|--user|--wallet|-wal|--username)["']?\s*[=, ]\s*["']?[A-Za-z0-9]{40,}/ ascii
        $opt6 = "--max-cpu-usage" ascii
        $opt7 = "--randomx-1gb-pages" ascii
    condition:
        (filesize < 1MB and not SW_MINER_FAMILY and any of ($run*) and (
             ($miner and (any of ($pool*) or any of ($wallet*) or any of ($opt*)))
             or ($pool2 and $opt5 and 1 of ($opt*))
             or ((any of ($pool*)) and any of ($wallet*))
             or ((any of ($pool*)) and 2 of ($opt*))
         ))
}

/* ------------------------------------------------------------- generic */

rule SW_MINER_STRATUM_CLIENT
{
    meta:
        id = "SW-MINER-STRATUM-CLIENT"
        severity = "high"
        category = "miner"
        title = "Executable speaking the stratum mining protocol"
        max_size = "128MB"
        description = "An ELF or Mach-O program with three or more stratum pool protocol methods (mining.subscribe, mining.authorize, mining.submit, login/submit/keepalived JSON): a miner of a family no other rule names."
    strings:
        $m1 = "mining.subscribe" ascii wide
        $m2 = "mining.authorize" ascii wide
        $m3 = "mining.submit" ascii wide
        $m4 = "mining.notify" ascii wide
        $m5 = "mining.set_difficulty" ascii wide
        $m6 = "mining.extranonce.subscribe" ascii wide
        $m7 = "\"method\":\"keepalived\"" ascii
        $m8 = "\"method\":\"submit\"" ascii
        $m9 = "\"method\":\"login\"" ascii
        $m10 = "eth_submitLogin" ascii wide
    condition:
        ((uint32(0) == 0x464c457f or uint32(0) == 0xfeedfacf or uint32(0) == 0xcffaedfe or
          uint32(0) == 0xbebafeca)
         and filesize < 128MB and not SW_MINER_FAMILY and 3 of ($m*))
}

rule SW_MINER_PE
{
    meta:
        id = "SW-MINER-PE"
        severity = "critical"
        category = "miner"
        title = "Windows (PE) cryptocurrency miner"
        max_size = "128MB"
        description = "A Windows executable with a miner's name or stratum protocol strings together with mining algorithms or pool login fields; a Windows miner has no business in a Linux container image."
    strings:
        $name1 = /\b(xmrig|xmr-stak|PhoenixMiner|lolMiner|NBMiner|GMiner|T-Rex|SRBMiner|nanominer|TeamRedMiner|ethminer|ccminer|cpuminer|minerd|bzminer|miniZ|WildRig|claymore)\b/ ascii nocase
        $name2 = "xmrig" wide nocase
        $name3 = "PhoenixMiner" wide nocase
        $name4 = "lolMiner" wide nocase
        $name5 = "NBMiner" wide nocase
        $name6 = "SRBMiner" wide nocase
        $p1 = "stratum+tcp://" ascii wide
        $p2 = "stratum+ssl://" ascii wide
        $p3 = "mining.subscribe" ascii wide
        $p4 = "mining.authorize" ascii wide
        $p5 = "mining.submit" ascii wide
        $p6 = "\"method\":\"login\"" ascii wide
        $p7 = "\"method\":\"submit\"" ascii wide
        $p8 = "--donate-level" ascii wide
        $a1 = "randomx" ascii wide nocase
        $a2 = "cryptonight" ascii wide nocase
        $a3 = "ethash" ascii wide nocase
        $a4 = "kawpow" ascii wide nocase
        $a5 = "autolykos" ascii wide nocase
        $a6 = "rx/0" ascii wide
        $a7 = "cn/r" ascii wide
        $a8 = "etchash" ascii wide nocase
        $a9 = "equihash" ascii wide nocase
    condition:
        (uint16(0) == 0x5a4d and filesize < 128MB and uint32(0x3c) < 4096 and
         uint32(uint32(0x3c)) == 0x00004550 and (
             (any of ($name*) and 1 of ($p*) and 1 of ($a*))
             or (2 of ($p*) and 1 of ($a*))
         ))
}

/* A known mining pool host name, as separate strings so that "many of
 * them" (a blocklist, an IDS rule file) can be told from "one of them"
 * (a miner's command line). */
private rule SW_MINER_POOL_NAMES
{
    meta:
        max_size = "128MB"
    strings:
        $d1 = "supportxmr.com" ascii nocase
        $d2 = "nanopool.org" ascii nocase
        $d3 = "minexmr.com" ascii nocase
        $d4 = "2miners.com" ascii nocase
        $d5 = "f2pool.com" ascii nocase
        $d6 = "hashvault.pro" ascii nocase
        $d7 = "moneroocean.stream" ascii nocase
        $d8 = "c3pool.com" ascii nocase
        $d9 = "c3pool.org" ascii nocase
        $d10 = "herominers.com" ascii nocase
        $d11 = "unmineable.com" ascii nocase
        $d12 = "xmrpool.eu" ascii nocase
        $d13 = "nicehash.com" ascii nocase
        $d14 = "ethermine.org" ascii nocase
        $d15 = "flypool.org" ascii nocase
        $d16 = "minergate.com" ascii nocase
        $d17 = "monerohash.com" ascii nocase
        $d18 = "miningpoolhub.com" ascii nocase
        $d19 = "dwarfpool.com" ascii nocase
        $d20 = "zergpool.com" ascii nocase
        $d21 = "zpool.ca" ascii nocase fullword
        $d22 = "woolypooly.com" ascii nocase
        $d23 = "kryptex.network" ascii nocase
        $d24 = "p2pool.io" ascii nocase
        $d25 = "xmr.pt" ascii nocase fullword
        $d26 = "gulf.moneroocean" ascii nocase
        $d27 = "hiveon.net" ascii nocase
        $d28 = "ezil.me" ascii nocase fullword
        $d29 = "k1pool.com" ascii nocase
        $d30 = "skypool.org" ascii nocase
        $d31 = "viaxmr.com" ascii nocase
        $d32 = "prohashing.com" ascii nocase
        $d33 = "mining-dutch.nl" ascii nocase
        $d34 = "rplant.xyz" ascii nocase
        $d35 = "xmrig.com" ascii nocase
    condition:
        filesize < 128MB and any of them and not 6 of them
}

rule SW_MINER_POOL_ADDRESS
{
    meta:
        id = "SW-MINER-POOL"
        severity = "high"
        category = "miner"
        title = "Mining pool address: a stratum URL or a known pool host with a port"
        max_size = "128MB"
        description = "A stratum:// URL with host and port, or the host name of a known mining pool (supportxmr, nanopool, 2miners, f2pool, hashvault, moneroocean, c3pool, herominers, unmineable...) followed by a port: where a miner connects. Lists of many pool names (blocklists) are left out."
    strings:
        $url = /stratum[0-9]?\+(tcp|ssl|tls|ws|wss):\/\/[a-zA-Z0-9_.\-]{3,100}:[0-9]{2,5}/ ascii wide nocase
        $hostport = /(supportxmr\.com|nanopool\.org|minexmr\.com|2miners\.com|f2pool\.com|hashvault\.pro|moneroocean\.stream|c3pool\.(com|org)|herominers\.com|unmineable\.com|xmrpool\.eu|nicehash\.com|ethermine\.org|flypool\.org|minergate\.com|monerohash\.com|miningpoolhub\.com|dwarfpool\.com|zergpool\.com|woolypooly\.com|kryptex\.network|hiveon\.net|k1pool\.com|skypool\.org|viaxmr\.com|prohashing\.com|mining-dutch\.nl|rplant\.xyz):[0-9]{2,5}\b/ ascii nocase
    condition:
        (filesize < 128MB and not SW_MINER_FAMILY and not SW_MINER_STRATUM_CONFIG and
         not SW_MINER_LAUNCHER and not SW_MINER_STRATUM_CLIENT and not SW_MINER_PE and
         ($url or ($hostport and SW_MINER_POOL_NAMES)))
}

rule SW_MINER_WALLET
{
    meta:
        id = "SW-MINER-WALLET"
        severity = "high"
        category = "miner"
        title = "Monero wallet address next to mining settings"
        max_size = "8MB"
        description = "A Monero address (standard, sub- or integrated address) in a file that also names a mining pool, a miner or mining options. A wallet-shaped string alone is not reported: crypto and Unicode libraries carry such runs of base58 letters."
    strings:
        /* 95 (standard "4", subaddress "8") or 106 (integrated) base58
         * letters, after the delimiter a command line or config puts before
         * a wallet. The delimiter is also what keeps these regexes fast:
         * without it, every "4x"/"8x" pair in a 130 MB module image would
         * start a match attempt. */
        $wallet1 = /[\s"'=:,\/]4[0-9AB][1-9A-HJ-NP-Za-km-z]{93}\b/ ascii
        $wallet2 = /[\s"'=:,\/]8[0-9AB][1-9A-HJ-NP-Za-km-z]{93}\b/ ascii
        $wallet3 = /[\s"'=:,\/]4[0-9AB][1-9A-HJ-NP-Za-km-z]{104}\b/ ascii
        $ctx1 = "stratum+tcp://" ascii nocase
        $ctx2 = "stratum+ssl://" ascii nocase
        $ctx3 = "stratum+tls://" ascii nocase
        $ctx4 = "--donate-level" ascii
        $ctx5 = /\b(xmrig|xmr-stak|minerd|cpuminer|SRBMiner|kdevtmpfsi)\b/ ascii nocase
        $ctx6 = /(-a|--algo)["']?\s*[=, ]\s*["']?(rx\/0|cn\/r|randomx|cryptonight)\b/ ascii
        $ctx7 = "\"pools\"" ascii
        $ctx8 = "mining.subscribe" ascii
        $ctx9 = /(-o|--url|--pool)["']?\s*[=, ]\s*["']?[a-zA-Z0-9][a-zA-Z0-9.\-]{2,100}:[0-9]{2,5}\b/ ascii
    condition:
        (filesize < 8MB and any of ($wallet*) and not SW_MINER_FAMILY and
         not SW_MINER_STRATUM_CONFIG and not SW_MINER_LAUNCHER and
         not SW_MINER_POOL_ADDRESS and
         (any of ($ctx*) or SW_MINER_POOL_NAMES))
}

rule SW_MINER_POOL_DOMAIN
{
    meta:
        id = "SW-MINER-POOL-DOMAIN"
        severity = "medium"
        category = "miner"
        title = "Names a known mining pool host"
        max_size = "2MB"
        description = "A small file names one to five known mining pool hosts without a port (a URL in a download or a connection string built at run time). Lists of many pool names (blocklists) and documentation are left out."
    condition:
        (filesize < 2MB and SW_MINER_POOL_NAMES and
         not SW_DOC_FILE and not SW_MINER_FAMILY and
         not SW_MINER_STRATUM_CONFIG and not SW_MINER_LAUNCHER and not SW_MINER_STRATUM_CLIENT and
         not SW_MINER_PE and not SW_MINER_POOL_ADDRESS and not SW_MINER_WALLET)
}
