/*
 * stowaway bundled rules: droppers (fetch and run, decode and run).
 *
 * "curl URL | sh" is in installation instructions everywhere: READMEs,
 * man pages, the docs of curl and wget themselves. So the generic
 * pipe-to-shell rule only looks at scripts (a #! line or a script
 * extension) outside documentation trees, and is medium. The high rules ask
 * for what an installer does not do: fetching from a bare IP address,
 * dropping into /tmp or /dev/shm and running it, running decoded base64.
 */

rule SW_DROPPER_FETCH_PIPE_SHELL
{
    meta:
        id = "SW-DROPPER-FETCH-PIPE"
        severity = "medium"
        category = "dropper"
        title = "Script pipes a download into a shell"
        max_size = "2MB"
        description = "A script (not documentation) runs curl or wget on a URL and pipes the result into sh/bash, or runs a shell on $(curl ...). Installers do this too, so it is medium; the same from a bare IP, from /tmp, or in a persistence location is reported by stricter rules."
    strings:
        $pipe = /\b(curl|wget)\s[^\n|;]{0,300}https?:\/\/[^\n|;]{1,300}\|\s*(sudo\s+)?(-E\s+)?((\/usr)?\/bin\/)?(ba|da|z|k|a)?sh\b/ ascii
        $subst1 = /\b(ba|da|z|k)?sh\s+(-c\s+)?["']?\$\(\s*(curl|wget)\s[^\n)]{0,300}https?:\/\// ascii
        $subst2 = /\b(ba|da|z|k)?sh\s+<\(\s*(curl|wget)\s[^\n)]{0,300}https?:\/\// ascii
        $subst3 = /\b(ba|da|z|k)?sh\s+(-s\s+)?<<?\s*["']?\$\(\s*(curl|wget)\s/ ascii
    condition:
        (filesize < 2MB and SW_SCRIPT_FILE and not SW_DOC_FILE and any of them)
}

rule SW_DROPPER_FETCH_IP
{
    meta:
        id = "SW-DROPPER-FETCH-IP"
        severity = "high"
        category = "dropper"
        title = "Downloads a script or program from a bare IP address and runs it"
        max_size = "2MB"
        description = "curl/wget (or a Python/Perl fetch) of http(s)://A.B.C.D/... whose result is piped into a shell or made executable: the way worm scripts and cryptojacking droppers pull their next stage."
    strings:
        $ip_pipe = /\b(curl|wget)\s[^\n|;]{0,200}(https?:\/\/|\s)[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(:[0-9]{1,5})?\/[^\n|;]{0,200}\|\s*(sudo\s+)?((\/usr)?\/bin\/)?(ba|da|z|k|a)?sh\b/ ascii
        $ip_dl = /\b(curl|wget)\s[^\n|;]{0,200}https?:\/\/[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(:[0-9]{1,5})?\/[^\n]{0,300}chmod\s+(\+x|u\+x|a\+x|[0-7]?[0-7]*[1357][0-7]*)\s/ ascii
        $py2 = /exec\s*\(\s*(urllib(\.request)?\.)?urlopen\(\s*["']https?:\/\/[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}[:\/]/ ascii
        $py = /urllib(\.request)?\.(urlopen|urlretrieve)\(\s*["']https?:\/\/[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}[:\/][^\n]{0,300}(exec\(|os\.system|subprocess|os\.chmod)/ ascii
    condition:
        (filesize < 2MB and not SW_DOC_FILE and any of them)
}

rule SW_DROPPER_TMP_EXEC
{
    meta:
        id = "SW-DROPPER-TMP-EXEC"
        severity = "high"
        category = "dropper"
        title = "Downloads into /tmp, /var/tmp or /dev/shm, makes it executable and runs it"
        max_size = "2MB"
        description = "A download (curl, wget, Python urllib, Node http/fetch) written into a world-writable directory, chmod +x, and started (nohup, &, exec, subprocess): the classic drop-and-run of miners and bots."
    strings:
        $dl1 = /\b(curl|wget)\s[^\n]{0,300}(-o|-O|--output(-document)?|>)\s*["']?(\/tmp|\/var\/tmp|\/dev\/shm)\// ascii
        $dl2 = /\b(curl|wget)\s[^\n]{0,300}(-P|--directory-prefix)\s*["']?(\/tmp|\/var\/tmp|\/dev\/shm)\b/ ascii
        $dl3 = /\bcd\s+["']?(\/tmp|\/var\/tmp|\/dev\/shm)\b[^\n]{0,100}(;|&&|\n)\s*(curl|wget)\s/ ascii
        $dl4 = /urlretrieve\(\s*[^\n,]{1,300},\s*["'](\/tmp|\/var\/tmp|\/dev\/shm)\// ascii
        $dl5 = /createWriteStream\(\s*["'](\/tmp|\/var\/tmp|\/dev\/shm)\// ascii
        $chmod1 = /chmod\s+(-[a-zA-Z]+\s+)?(\+x|[ugoa]+\+[rw]*x|[0-7]?[0-7]*[1357][0-7]*)\s+["']?(\/tmp|\/var\/tmp|\/dev\/shm)\// ascii
        $chmod2 = /os\.chmod\(\s*["'](\/tmp|\/var\/tmp|\/dev\/shm)\/[^\n]{0,200}0o?[0-7]?[1357][0-7]{2}/ ascii
        $chmod3 = /fs\.chmodSync\(\s*["'](\/tmp|\/var\/tmp|\/dev\/shm)\// ascii
        $chmod4 = /chmod\s+(-[a-zA-Z]+\s+)?(\+x|[ugoa]+\+[rw]*x|[0-7]?[0-7]*[1357][0-7]*)\s+["']?\$\{?\w+\}?/ ascii
        $run1 = /(nohup|setsid|exec)\s+["']?(\/tmp|\/var\/tmp|\/dev\/shm)\// ascii
        $run2 = /(^|\n|;|&&|\|\||\bthen|\bdo)\s*["']?(\/tmp|\/var\/tmp|\/dev\/shm)\/[^\s;&|"']+["']?(\s[^\n]{0,200})?(&|;|\n)/ ascii
        $run3 = /(subprocess\.(Popen|call|run)|os\.system|os\.exec[lv]p?e?|spawn|execFile|execSync)\s*\(\s*\[?\s*["'](nohup\s+)?(\/tmp|\/var\/tmp|\/dev\/shm)\// ascii
        $run4 = /\bcd\s+["']?(\/tmp|\/var\/tmp|\/dev\/shm)\b[^\n]{0,300}(;|&&|\n)\s*(nohup\s+)?\.\/[\w.\-]+/ ascii
    condition:
        (filesize < 2MB and not SW_DOC_FILE and
         1 of ($dl*) and 1 of ($chmod*) and 1 of ($run*))
}

rule SW_DROPPER_DECODE_EXEC
{
    meta:
        id = "SW-DROPPER-DECODE-EXEC"
        severity = "high"
        category = "dropper"
        title = "Runs code it decodes from base64 (obfuscated payload)"
        max_size = "4MB"
        description = "base64 -d piped into a shell or eval'd, Python exec(base64.b64decode(...)), Perl eval(decode_base64(...)), PHP eval(base64_decode(...)) or gzinflate, Node eval/exec of Buffer.from(..., 'base64'), os.system/subprocess of b64decode: a payload hidden from plain-text review."
    strings:
        $sh1 = /base64\s+(-d|--decode|-D)\b[^\n|]{0,100}\|\s*(sudo\s+)?((\/usr)?\/bin\/)?(ba|da|z|k|a)?sh\b/ ascii
        $sh2 = /\beval\s+["']?\$\((echo|printf)?[^\n)]{0,4000}base64\s+(-d|--decode|-D)/ ascii
        $sh3 = /(ba|da|z)?sh\s+-c\s+["']?\$\((echo|printf)?[^\n)]{0,4000}base64\s+(-d|--decode|-D)/ ascii
        $py1 = /exec\s*\(\s*(compile\s*\(\s*)?(base64\.|__import__\(\s*["']base64["']\s*\)\.)(b64decode|b32decode|b16decode|a85decode|decodebytes|decodestring|urlsafe_b64decode)\s*\(/ ascii
        $py2 = /exec\s*\(\s*(zlib|bz2|lzma)\.decompress\s*\(\s*(base64\.)?(b64decode|decodebytes)\s*\(/ ascii
        $py3 = /exec\s*\(\s*marshal\.loads\s*\(/ ascii
        $py4 = /(os\.system|os\.popen|subprocess\.(Popen|call|run|check_output|check_call|getoutput))\s*\(\s*(base64\.)?(b64decode|decodebytes)\s*\(/ ascii
        $js2 = /(execSync|exec|spawn)\s*\(\s*Buffer\.from\s*\([^\n)]{0,4000},\s*["']base64["']\s*\)/ ascii
        $pl = /eval\s*\(?\s*(MIME::Base64::)?decode_base64\s*\(/ ascii
        $php1 = /(eval|assert)\s*\(\s*@?\s*((gzinflate|gzuncompress|gzdecode|str_rot13|strrev)\s*\(\s*@?\s*)*base64_decode\s*\(/ ascii nocase
        $php2 = /(eval|assert)\s*\(\s*(gzinflate|gzuncompress|gzdecode)\s*\(/ ascii nocase
        $js = /(new\s+Function|eval)\s*\(\s*Buffer\.from\s*\([^\n)]{0,4000},\s*["']base64["']\s*\)/ ascii
    condition:
        (filesize < 4MB and not SW_DOC_FILE and
         (any of ($sh*, $pl, $php*, $js, $js2) or
          (any of ($py*) and not (filepath matches /\/python[0-9.]*\/(test|idlelib|lib2to3)\//))))
}
