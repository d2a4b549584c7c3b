#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }

# Plain-text endpoints: http:// and ws:// carry signed requests, session tokens and session
# data in the clear, so they are refused beyond loopback unless SSMSESSION_ALLOW_HTTP=1, and
# then come with a warning. Nothing here sends a packet: refusals happen before connecting,
# and the opted-in case stops at -WhatIf (192.0.2.0/24 is a documentation range anyway).

Describe 'unencrypted endpoints' {
    BeforeAll {
        $repositoryRoot = Split-Path $PSScriptRoot -Parent
        Import-Module $(if ($env:SSMSESSION_TEST_MANIFEST) { $env:SSMSESSION_TEST_MANIFEST } else { Join-Path $repositoryRoot 'SSMSession.psd1' }) -Force
        $savedAllow = $env:SSMSESSION_ALLOW_HTTP
        $keys = @{ Region = 'eu-west-3'; AccessKey = 'AKIDSSMEMULATOR'; SecretKey = 'ssm-emulator-secret-key' }
        $remote = 'http://192.0.2.10:8080'
    }

    AfterEach {
        Remove-Item Env:SSMSESSION_ALLOW_HTTP -ErrorAction SilentlyContinue
        Remove-Item Env:AWS_ENDPOINT_URL -ErrorAction SilentlyContinue
    }

    AfterAll {
        if ($null -ne $savedAllow) { $env:SSMSESSION_ALLOW_HTTP = $savedAllow }
    }

    It 'refuses http:// to a host that is not loopback, saying how to opt in' {
        $caught = $null
        try { Start-SSMSession -Target i-1 -EndpointUrl $remote @keys } catch { $caught = $_ }
        $caught.FullyQualifiedErrorId | Should -Be 'SSMSession.InsecureEndpoint,Start-SSMSession'
        $caught.Exception.Message | Should -BeLike "Refusing unencrypted http:// to '192.0.2.10'*SSMSESSION_ALLOW_HTTP=1*"
    }

    It 'refuses it from AWS_ENDPOINT_URL as well, not only from -EndpointUrl' {
        $env:AWS_ENDPOINT_URL = $remote
        $caught = $null
        try { Stop-SSMSession -SessionId s-1 -Force @keys } catch { $caught = $_ }
        $caught.FullyQualifiedErrorId | Should -Be 'SSMSession.InsecureEndpoint,Stop-SSMSession'
    }

    It 'allows it after the opt-in, with a warning on every call' {
        $env:SSMSESSION_ALLOW_HTTP = '1'
        foreach ($attempt in 1..2) {
            $warnings = $null
            Start-SSMSession -Target i-1 -EndpointUrl $remote @keys -WhatIf -WarningVariable warnings -WarningAction SilentlyContinue
            @($warnings).Count | Should -Be 1
            "$($warnings[0])" | Should -BeLike "The endpoint '192.0.2.10' is reached over unencrypted http://*in the clear*"
        }
    }

    It 'refuses a ws:// data channel to a host that is not loopback' {
        $caught = $null
        try {
            Connect-SSMSession -SessionId s-1 -StreamUrl 'ws://192.0.2.10/v1/data-channel/s-1?role=publish_subscribe' -TokenValue t -AsJob `
                -EndpointUrl 'http://127.0.0.1:9' @keys
        } catch { $caught = $_ }
        $caught.FullyQualifiedErrorId | Should -Be 'SSMSession.InsecureEndpoint,Connect-SSMSession'
        $caught.Exception.Message | Should -BeLike "Refusing unencrypted ws:// to '192.0.2.10'*"
    }
}

Describe 'secrets in a full run' {
    BeforeAll {
        $repositoryRoot = Split-Path $PSScriptRoot -Parent
        Import-Module ([System.IO.Path]::Combine($PSScriptRoot, 'Support', 'SSMEmulator.psm1')) -Force
        Import-Module ([System.IO.Path]::Combine($PSScriptRoot, 'Support', 'EchoServer.psm1')) -Force
        $emulatorPath = if ($env:SSMSESSION_EMULATOR_PATH) { $env:SSMSESSION_EMULATOR_PATH } else { [System.IO.Path]::Combine($repositoryRoot, 'target', 'release', 'ssm-emulator') }
        # A key pair of this test's own, so the secret is unmistakable in any text.
        $secretKey = 'S3cr3t-only-in-this-test-7f2c9d41'
        $emulator = Start-SSMEmulator -Path $emulatorPath -ArgumentList '--credential', "AKIDSECRETSCAN:${secretKey}:scanner"
        $echo = Start-SSMTestEchoServer
        Import-Module $(if ($env:SSMSESSION_TEST_MANIFEST) { $env:SSMSESSION_TEST_MANIFEST } else { Join-Path $repositoryRoot 'SSMSession.psd1' }) -Force
        Remove-Variable -Name AWSHistory -Scope Global -ErrorAction SilentlyContinue
        $logFile = Join-Path $TestDrive 'native.log'
        $client = @{ Region = 'eu-west-3'; EndpointUrl = $emulator.Url; AccessKey = 'AKIDSECRETSCAN'; SecretKey = $secretKey }

        # Everything a user would run, every stream merged and kept: verbose, debug,
        # warnings, errors and information; the objects themselves are set apart.
        $env:SSMSESSION_LOG = 'trace'
        $env:SSMSESSION_LOG_FILE = $logFile
        $outputs = [System.Collections.Generic.List[object]]::new()
        $records = & {
            $session = Start-SSMSession -Target i-0123456789abcdef0 -DocumentName AWS-StartPortForwardingSession `
                -Parameter @{ portNumber = "$($echo.Port)"; localPortNumber = '0' } @client -Verbose -Debug
            $outputs.Add($session)
            $forward = $session | Connect-SSMSession -AsJob -Verbose -Debug
            $outputs.Add($forward)
            $null = Test-SSMTestEcho -Port $forward.LocalPort -Length 5000 -Seed 3
            $forward.Stop()
            $other = Start-SSMSession -Target i-0fedcba9876543210 @client
            $outputs.Add($other)
            $outputs.Add((Resume-SSMSession -SessionId $other.SessionId @client -Force -Verbose -Debug))
            $outputs.Add((Stop-SSMSession -SessionId $other.SessionId @client -Force -Verbose -Debug))
            try { Start-SSMSession -Target i-targetnotconnected @client -Verbose -Debug } catch { $_ }
            $wrongKey = $client.Clone()
            $wrongKey.SecretKey = 'wrong-secret-9a8b7c'
            try { Start-SSMSession -Target i-1 @wrongKey -Verbose -Debug } catch { $_ }
            # Proxy passwords, from the environment and from ClientConfig (loopback is never
            # proxied, so the calls succeed; the settings still travel through every layer).
            $env:HTTPS_PROXY = 'http://scanner:Pr0xy-env-pass-51e@127.0.0.1:9'
            $outputs.Add((Start-SSMSession -Target i-0123456789abcdef0 @client -Verbose -Debug))
            $env:HTTPS_PROXY = $null
            $proxyCredential = [pscredential]::new('scanner', (ConvertTo-SecureString 'Pr0xy-cc-pass-3d9' -AsPlainText -Force))
            $outputs.Add((Start-SSMSession -Target i-0123456789abcdef0 @client -Verbose -Debug -ClientConfig @{ ProxyHost = '127.0.0.1'; ProxyPort = 9; ProxyCredentials = $proxyCredential }))
        } *>&1
        Remove-Item Env:SSMSESSION_LOG, Env:SSMSESSION_LOG_FILE
        $token = $outputs[0].TokenValue
        $text = [System.Text.StringBuilder]::new()
        foreach ($record in $records) { $null = $text.AppendLine(($record | Out-String -Width 500)) }
        foreach ($record in @($records | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })) {
            $null = $text.AppendLine(($record | Format-List * -Force | Out-String -Width 500))
            $null = $text.AppendLine(($record.Exception | Format-List * -Force | Out-String -Width 500))
        }
        $null = $text.AppendLine(($global:AWSHistory.Commands | ConvertTo-Json -Depth 6))
        if (Test-Path -LiteralPath $logFile) { $null = $text.AppendLine((Get-Content -Raw -LiteralPath $logFile)) }
        $scanned = $text.ToString()
    }

    AfterAll {
        Remove-Variable -Name AWSHistory -Scope Global -ErrorAction SilentlyContinue
        Stop-SSMTestEchoServer -Server $echo
        Stop-SSMEmulator -Emulator $emulator
    }

    It 'ran the commands and produced the streams and log it scans' {
        $token | Should -Not -BeNullOrEmpty
        $scanned | Should -Match 'VERBOSE|Invoking AWS Systems Manager'
        $scanned | Should -Match 'Credentials obtained from'
        $scanned | Should -Match 'TargetNotConnected|not connected'
        $scanned | Should -Match 'handshake complete'
        $scanned | Should -Match '\(redacted; set \$AWSHistory' -Because 'the history was scanned, with its tokens redacted'
    }

    It 'shows no secret key, wrong or right, in any stream, the history, error records or the log' {
        $scanned | Should -Not -Match ([regex]::Escape($secretKey))
        $scanned | Should -Not -Match 'wrong-secret-9a8b7c'
    }

    It 'shows no proxy password, from the environment or from ClientConfig' {
        $scanned | Should -Match 'Network: API calls to 127\.0\.0\.1 directly' -Because 'the proxied calls ran'
        $scanned | Should -Not -Match 'Pr0xy-env-pass-51e'
        $scanned | Should -Not -Match 'Pr0xy-cc-pass-3d9'
    }

    It 'shows no session token in any of them' {
        $scanned | Should -Not -Match ([regex]::Escape($token))
        $scanned | Should -Not -Match ([regex]::Escape($outputs[3].TokenValue)) -Because 'nor the one ResumeSession gave'
    }

    It 'shows no request signature in any of them' {
        $scanned | Should -Not -Match 'Signature=[0-9a-f]{64}'
    }
}
