/*
 * stowaway bundled rules: malware families and tradecraft aimed at
 * containers and cloud hosts (Kinsing, TeamTNT-style worm scripts).
 *
 * The tradecraft rules need a script doing several of the things together:
 * cloud SDKs carry the metadata address 169.254.169.254 and the path
 * ~/.aws/credentials, Docker tooling carries docker.sock; what the SDKs do
 * not do is read them in a shell script that also uploads somewhere, or
 * start a privileged container that mounts the host's / and chroots into it.
 */

rule SW_FAMILY_KINSING
{
    meta:
        id = "SW-FAMILY-KINSING"
        severity = "critical"
        category = "miner"
        title = "Kinsing / kdevtmpfsi cryptojacking malware"
        max_size = "64MB"
        description = "The Kinsing campaign (exploits exposed Docker APIs and vulnerable services, drops the kdevtmpfsi miner and the kinsing Go agent): its file names and install paths, or the Go agent's function names."
    strings:
        $miner = "kdevtmpfsi" ascii wide nocase
        $path1 = "/etc/kinsing" ascii
        $path2 = "/tmp/kinsing" ascii
        $path3 = "/var/tmp/kinsing" ascii
        $path4 = "/dev/shm/kinsing" ascii
        $name = /\b(curl|wget|chmod|pkill|killall|kill|rm|nohup|crontab)\s[^\n]{0,120}\bkinsing\b/ ascii nocase
        $go1 = "main.minerRunningCheck" ascii
        $go2 = "main.masscanNeeded" ascii
        $go3 = "main.isMinerRunning" ascii
        $go4 = "main.downloadAndExecute" ascii
        $go5 = "main.backconnect" ascii
        $go6 = "main.getMinerPid" ascii
    condition:
        (filesize < 64MB and
         ($miner or any of ($path*) or ($name and filesize < 1MB) or 2 of ($go*)))
}

rule SW_CONTAINER_RIVAL_KILL
{
    meta:
        id = "SW-CONTAINER-RIVAL-KILL"
        severity = "high"
        category = "dropper"
        title = "Script that kills rival cryptominers (TeamTNT/Kinsing/WatchDog style)"
        max_size = "2MB"
        description = "Cryptojacking scripts first kill other groups' miners by name (pkill/killall/kill -9 on ps|grep output) and block their pools; three such kills of known miner names, or two plus pool-port blocking or cleaning of rivals' files, is that script."
    strings:
        $k1 = /(pkill|killall|kill\s+-9|pgrep|grep)\s[^\n]{0,60}\bxmrig/ ascii nocase
        $k2 = /(pkill|killall|kill\s+-9|pgrep|grep)\s[^\n]{0,60}\b(kinsing|kdevtmpfsi)/ ascii
        $k3 = /(pkill|killall|kill\s+-9|pgrep|grep)\s[^\n]{0,60}\b(xmr-stak|xmrstak)/ ascii
        $k4 = /(pkill|killall|kill\s+-9|pgrep|grep)\s[^\n]{0,60}\b(minerd|cpuminer)/ ascii
        $k5 = /(pkill|killall|kill\s+-9|pgrep|grep)\s[^\n]{0,60}\b(kworkerds|kthreaddi|ddgs|qW3xT|sustse|watchbog|dbused|phpguard)/ ascii
        $k6 = /(pkill|killall|kill\s+-9|pgrep|grep)\s[^\n]{0,60}(cryptonight|stratum)/ ascii
        $k7 = /(pkill|killall|kill\s+-9|pgrep|grep)\s[^\n]{0,60}\b(sysupdate|networkservice|sysguard)\b/ ascii
        $k8 = /(pkill|killall|kill\s+-9|pgrep|grep)\s[^\n]{0,60}(\/tmp\/\.|\.xm|\bxm64\b|\bxmr\b)/ ascii
        $c1 = /iptables\s[^\n]{0,120}--dport\s+(3333|4444|5555|7777|14444|14433|45700|45560)\b[^\n]{0,60}(DROP|REJECT)/ ascii
        $c2 = /\bchattr\s+-[aiu]*i[aiu]*\s[^\n]{0,80}(\/etc\/cron|\/var\/spool\/cron|\/root\/\.ssh|authorized_keys|\/etc\/ld\.so\.preload)/ ascii
        $c3 = /\brm\s+-[rf]+\s+[^\n]{0,40}(\/tmp\/\.|\/var\/tmp\/\.)[^\n]{0,20}(xm|kin|ddg|kdev)/ ascii
    condition:
        (filesize < 2MB and (3 of ($k*) or (2 of ($k*) and 1 of ($c*))))
}

rule SW_CONTAINER_CLOUD_CREDS
{
    meta:
        id = "SW-CONTAINER-CLOUD-CREDS"
        severity = "high"
        category = "backdoor"
        title = "Script that collects cloud credentials and sends them out"
        max_size = "1MB"
        description = "A shell script reading cloud credentials (instance metadata at 169.254.169.254 or metadata.google.internal, ~/.aws/credentials, Docker/Kubernetes secrets, git credentials) and uploading with curl -F/--data @/-T, wget --post-file or nc: the credential theft of TeamTNT-style worms. Cloud SDKs contain the addresses but not this combination in a script."
    strings:
        $src1 = "169.254.169.254" ascii
        $src2 = "meta-data/iam/security-credentials" ascii
        $src3 = ".aws/credentials" ascii
        $src4 = "metadata.google.internal" ascii
        $src5 = "/metadata/identity/oauth2/token" ascii
        $src6 = ".docker/config.json" ascii
        $src7 = "/var/run/secrets/kubernetes.io/serviceaccount" ascii
        $src8 = ".git-credentials" ascii
        $src9 = ".s3cfg" ascii fullword
        $src10 = "AWS_SECRET_ACCESS_KEY" ascii
        $src11 = ".kube/config" ascii
        $src12 = "computeMetadata/v1" ascii
        $out1 = /\bcurl\s[^\n]{0,200}(-F\s|--form\s|--upload-file\s|-T\s|--data(-binary|-raw)?[\s=]+["']?@|-d\s*["']?@)/ ascii
        $out2 = /\bwget\s[^\n]{0,200}--post-(file|data)/ ascii
        $out3 = /\|\s*(nc|ncat|netcat)\s+[^\s|;]+\s+[0-9]{1,5}/ ascii
        $out4 = /\bcurl\s[^\n]{0,200}(-X\s*POST|--request\s+POST)[^\n]{0,200}(-d|--data)/ ascii
        $out5 = />\s*\/dev\/tcp\/[A-Za-z0-9.\-]{1,253}\/[0-9]{1,5}/ ascii
    condition:
        (filesize < 1MB and (uint16(0) == 0x2123 or extension matches /^(sh|bash)$/) and
         2 of ($src*) and any of ($out*))
}

rule SW_CONTAINER_ESCAPE
{
    meta:
        id = "SW-CONTAINER-ESCAPE"
        severity = "high"
        category = "backdoor"
        title = "Script that abuses the Docker API to take over the host"
        max_size = "2MB"
        description = "Talks to docker.sock or a remote Docker API (:2375) to start a privileged container that mounts the host's root and chroots/nsenters into it, or mass-scans for open Docker/kubelet APIs to do the same: container escape and worm spreading."
    strings:
        $sock1 = "/var/run/docker.sock" ascii
        $sock2 = "/run/docker.sock" ascii
        $remote1 = /(-H|--host)\s*=?\s*["']?(tcp:\/\/)?[A-Za-z0-9.\-$\{\}]{1,100}:(2375|2376)\b/ ascii
        $remote2 = /:(2375|2376)\/(v[0-9.]+\/)?containers\/(create|[^\/\s]+\/exec)/ ascii
        $priv1 = "--privileged" ascii
        $priv2 = /"Privileged"\s*:\s*true/ ascii
        $root1 = /-v\s+["']?\/:\/[A-Za-z0-9_\-]+/ ascii
        $root2 = /"Binds"\s*:\s*\[\s*"\/:\// ascii
        $root3 = /--mount\s+[^\n]{0,40}(source|src)=\/,/ ascii
        $esc1 = /\bchroot\s+\/(host|mnt|hostfs|rootfs|[a-z]+)\b/ ascii
        $esc2 = /\bnsenter\s+[^\n]{0,20}(-t|--target)\s+1\b/ ascii
        $esc3 = "--pid=host" ascii
        $scan = /\b(masscan|zgrab2?|pnscan|zmap)\s[^\n]{0,200}[^0-9](2375|2376|10250)\b/ ascii
    condition:
        (filesize < 2MB and (
             ((any of ($sock*) or any of ($remote*)) and
              ((any of ($priv*) and (any of ($root*) or any of ($esc*))) or (any of ($root*) and any of ($esc*))))
             or ($scan and any of ($remote*))
         ))
}

rule SW_FAMILY_TEAMTNT
{
    meta:
        id = "SW-FAMILY-TEAMTNT"
        severity = "critical"
        category = "dropper"
        title = "TeamTNT cryptojacking toolkit markers"
        max_size = "16MB"
        description = "Names and infrastructure of the TeamTNT group (teamtnt.red, chimaera.cc, their banner) in a script or binary that also fetches, kills processes or runs a miner."
    strings:
        $m1 = "teamtnt" ascii wide nocase
        $m2 = "chimaera.cc" ascii nocase
        $m3 = "teamtnt.red" ascii nocase
        $a1 = /\b(curl|wget)\s/ ascii
        $a2 = /\b(pkill|killall|chattr|nohup|crontab)\s/ ascii
        $a3 = /\b(xmrig|docker|masscan|zgrab|tmate)\b/ ascii nocase
    condition:
        (filesize < 16MB and any of ($m*) and any of ($a*))
}
