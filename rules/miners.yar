/*
 * stowaway bundled rules: cryptocurrency miners.
 *
 * Precision first: a single generic word ("monero", "stratum") is in plenty
 * of honest files (documentation, crypto libraries). Each rule asks for
 * several miner-specific facts together: option names from a miner's
 * command-line table, pool protocol strings, algorithm names.
 */

rule SW_MINER_XMRIG
{
    meta:
        id = "SW-MINER-XMRIG"
        severity = "critical"
        category = "miner"
        title = "XMRig cryptocurrency miner (or a fork)"
        description = "Option table and protocol strings of XMRig: donate level, RandomX/CryptoNight algorithms, stratum login."
    strings:
        $name1 = "xmrig" ascii nocase
        $name2 = "XMRig" ascii wide
        $opt1 = "--donate-level" ascii
        $opt2 = "donate-level" ascii
        $opt3 = "--cpu-max-threads-hint" ascii
        $opt4 = "cpu-max-threads-hint" ascii
        $opt5 = "--randomx-1gb-pages" ascii
        $opt6 = "randomx-mode" ascii
        $algo1 = "rx/0" ascii
        $algo2 = "cn/r" ascii
        $algo3 = "randomx" ascii nocase
        $algo4 = "cryptonight" ascii nocase
        $proto1 = "mining.subscribe" ascii
        $proto2 = "\"method\":\"login\"" ascii
        $proto3 = "stratum+tcp://" ascii
        $proto4 = "stratum+ssl://" ascii
    condition:
        any of ($name*) and 2 of ($opt*) and 1 of ($algo*) and 1 of ($proto*)
}

rule SW_MINER_STRATUM_CONFIG
{
    meta:
        id = "SW-MINER-CONFIG"
        severity = "high"
        category = "miner"
        title = "Miner configuration: a stratum pool with a wallet or worker login"
        description = "A small text file naming a stratum pool URL together with the fields a miner logs in with."
    strings:
        $url = /stratum\+(tcp|ssl|tls):\/\/[a-zA-Z0-9.\-]{3,100}:[0-9]{2,5}/
        $k1 = "\"user\"" ascii
        $k2 = "\"pass\"" ascii
        $k3 = "\"pools\"" ascii
        $k4 = "\"algo\"" ascii
        $k5 = "\"rig-id\"" ascii
        $k6 = "\"wallet\"" ascii
    condition:
        filesize < 1MB and $url and 2 of ($k*)
}
