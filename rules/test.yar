/*
 * stowaway bundled rules: test files. Every rule has meta id, severity,
 * category and title; the scanner refuses rules without them.
 */

rule SW_TEST_EICAR
{
    meta:
        id = "SW-TEST-EICAR"
        severity = "medium"
        category = "test"
        title = "EICAR anti-malware test file"
        max_size = "256"
        description = "The standard EICAR test string at the start of a file, as anti-malware tools detect it."
    strings:
        $eicar = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!"
    condition:
        $eicar at 0 and filesize < 256
}
