/*
 * stowaway bundled rules: backdoors left in an image (web shells).
 *
 * A web shell passes a request parameter straight to a command or to
 * eval. Frameworks never do that with the raw request: the rule needs the
 * request value as the direct argument of the dangerous call.
 */

rule SW_BACKDOOR_WEBSHELL
{
    meta:
        id = "SW-BACKDOOR-WEBSHELL"
        severity = "high"
        category = "backdoor"
        title = "Web shell: a request parameter run as a command or code"
        max_size = "2MB"
        description = "PHP system/exec/passthru/eval/assert of $_GET/$_POST/$_REQUEST/$_COOKIE (or a backtick of it), JSP Runtime.exec/ProcessBuilder of request.getParameter, Python os.system/popen/subprocess of request.args/form, Node child_process exec of req.query/body."
    strings:
        $php1 = /\b(system|exec|shell_exec|passthru|popen|proc_open|pcntl_exec|assert|eval|create_function)\s*\(\s*(@\s*)?((base64_decode|str_rot13|gzinflate|stripslashes|trim)\s*\(\s*)*\$_(GET|POST|REQUEST|COOKIE)\s*\[/ ascii nocase
        $php2 = /\b(system|exec|shell_exec|passthru|popen|proc_open|assert|eval)\s*\(\s*(@\s*)?\$_SERVER\s*\[\s*["']HTTP_/ ascii nocase
        $php3 = /`\s*\$_(GET|POST|REQUEST|COOKIE)\s*\[[^`\n]{1,40}\]\s*`/ ascii
        $jsp1 = /Runtime\.getRuntime\(\)\.exec\(\s*request\.getParameter\(/ ascii
        $jsp2 = /new\s+ProcessBuilder\([^\n;]{0,100}request\.getParameter\(/ ascii
        $py = /\b(os\.system|os\.popen|subprocess\.(Popen|call|run|check_output|getoutput))\(\s*(request\.(args|form|values|GET|POST)|flask\.request\.(args|form))/ ascii
        $js = /\b(exec|execSync|spawn|spawnSync)\(\s*req\.(query|body|params)\./ ascii
        $asp = /Process\.Start\([^\n;]{0,80}Request(\.Form|\.QueryString)?\[/ ascii nocase
    condition:
        (filesize < 2MB and any of them)
}
