#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }

# Behind a corporate proxy with a private CA. The emulator runs in TLS mode under a made-up
# host name (https://, wss://, a CA made for this run only) and is reached through loopback
# CONNECT proxies (ssm-emulator connect-proxy) that resolve every name to 127.0.0.1 and
# record each request in a log; one of them requires basic authentication. Each test
# asserts on what the proxy recorded, not only on success. Loopback only.

Describe 'Behind a corporate proxy with a private CA, against the emulator in TLS mode' -Skip:$IsWindows {
    BeforeAll {
        $repositoryRoot = Split-Path $PSScriptRoot -Parent
        $manifestPath = $(if ($env:SSMSESSION_TEST_MANIFEST) { $env:SSMSESSION_TEST_MANIFEST } else { Join-Path $repositoryRoot 'SSMSession.psd1' })
        Import-Module $manifestPath -Force
        Import-Module ([System.IO.Path]::Combine($PSScriptRoot, 'Support', 'SSMEmulator.psm1')) -Force
        Import-Module ([System.IO.Path]::Combine($PSScriptRoot, 'Support', 'EchoServer.psm1')) -Force
        Import-Module ([System.IO.Path]::Combine($PSScriptRoot, 'Support', 'AwsCli.psm1')) -Force
        $networkVariables = 'HTTPS_PROXY', 'HTTP_PROXY', 'ALL_PROXY', 'AWS_CA_BUNDLE', 'AWS_ENDPOINT_URL_KMS', 'AWS_EC2_METADATA_DISABLED'
        $saved = @{}
        foreach ($name in $networkVariables) { $saved[$name] = [System.Environment]::GetEnvironmentVariable($name) }
        $env:AWS_EC2_METADATA_DISABLED = 'true'

        $work = Join-Path ([System.IO.Path]::GetTempPath()) "ssmsession-corporate-$PID"
        $null = New-Item -ItemType Directory -Path $work -Force
        $ca = Join-Path $work 'private-ca.pem'
        $hostName = 'ssm.emulator.test'
        # A KMS key too: the encrypted-command test needs it, the others ignore it.
        $emulator = Start-SSMSessionEmulator -ArgumentList '--tls-host', $hostName, '--tls-ca-file', $ca, '--kms-key-id', 'alias/ssm-sessions'
        $p = $emulator.Parameters
        $authority = $emulator.Url -replace '^https://', ''
        $emulatorPath = [System.IO.Path]::Combine((Split-Path $emulator.Process.MainModule.FileName -Parent), 'ssm-emulator')

        function Start-TestProxy([string] $Name, [string] $Credential) {
            $log = Join-Path $work "$Name.log"
            $arguments = @('connect-proxy', '--log', $log)
            if ($Credential) { $arguments += '--credential', $Credential }
            $started = Start-SSMEmulator -Path $emulatorPath -ArgumentList $arguments -ShowRequests
            $started | Add-Member -NotePropertyName Log -NotePropertyValue $log
            $started | Add-Member -NotePropertyName Port -NotePropertyValue ([int]($started.Url -replace '^.*:', ''))
            $started
        }
        function Get-ProxyRecord($Proxy) {
            if (-not (Test-Path -LiteralPath $Proxy.Log)) { return @() }
            @(Get-Content -LiteralPath $Proxy.Log | ForEach-Object { $_ | ConvertFrom-Json })
        }
        $openProxy = Start-TestProxy -Name open
        $lockedProxy = Start-TestProxy -Name locked -Credential 'corp\alice:p@ss w:rd'
        # The locked proxy's password, percent-encoded as a URL carries it.
        $lockedUrl = "http://corp%5Calice:p%40ss%20w%3Ard@127.0.0.1:$($lockedProxy.Port)"
        $echo = Start-SSMTestEchoServer
    }

    BeforeEach {
        foreach ($name in 'HTTPS_PROXY', 'HTTP_PROXY', 'ALL_PROXY', 'AWS_CA_BUNDLE', 'AWS_ENDPOINT_URL_KMS') {
            [System.Environment]::SetEnvironmentVariable($name, $null)
        }
        foreach ($proxy in $openProxy, $lockedProxy) { Remove-Item -LiteralPath $proxy.Log -ErrorAction Ignore }
    }

    AfterAll {
        Stop-SSMTestEchoServer -Server $echo
        $openProxy, $lockedProxy | Stop-SSMEmulator
        $emulator.Stop()
        Get-Module SSMSession | Remove-Module
        foreach ($name in $saved.Keys) { [System.Environment]::SetEnvironmentVariable($name, $saved[$name]) }
        Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction Ignore
    }

    It 'uses a proxy and a CA bundle set with $env: after the module was loaded' {
        # On Linux these never reach the native process environment: the module's snapshot
        # carries them.
        $env:HTTPS_PROXY = $openProxy.Url
        $env:AWS_CA_BUNDLE = $ca
        $session = Start-SSMSession -Target i-0123456789abcdef0 @p
        $session.StreamUrl | Should -Match "^wss://$([regex]::Escape($hostName)):"
        $records = Get-ProxyRecord $openProxy
        $records.Count | Should -Be 1
        $records[0].Method | Should -Be 'CONNECT'
        $records[0].Target | Should -Be $authority
        $records[0].Status | Should -Be 200
    }

    It 'trusts a CA named by SSL_CERT_FILE set with $env: as well' {
        $env:HTTPS_PROXY = $openProxy.Url
        $savedCertFile = $env:SSL_CERT_FILE
        try {
            $env:SSL_CERT_FILE = $ca
            $session = Start-SSMSession -Target i-0123456789abcdef0 @p
            $session.SessionId | Should -Match '^emulator-user-'
        } finally {
            $env:SSL_CERT_FILE = $savedCertFile
        }
        (Get-ProxyRecord $openProxy).Status | Should -Be @(200)
    }

    It 'says with -Debug which proxy and which CA file the calls use, never the proxy password' {
        $env:HTTPS_PROXY = $lockedUrl
        $env:AWS_CA_BUNDLE = $ca
        $debug = @(Start-SSMSession -Target i-0123456789abcdef0 -Debug @p 5>&1 | Where-Object { $_ -is [System.Management.Automation.DebugRecord] })
        $network = @($debug | Where-Object Message -Like 'Network:*')
        $network.Count | Should -Be 1
        $network[0].Message | Should -Be ("Network: API calls to $hostName through the proxy 127.0.0.1:$($lockedProxy.Port) (from HTTPS_PROXY), " +
            "trusting the system store and AWS_CA_BUNDLE '$ca' (1 certificate)")
        ($debug.Message -join "`n") | Should -Not -Match 'p@ss|p%40ss|w:rd'
        $records = Get-ProxyRecord $lockedProxy
        $records.Status | Should -Be @(200)
        $records.SentCredentials | Should -Be @($true)
    }

    It 'refuses wrong proxy credentials with a clear error naming the proxy but not the password, within seconds' {
        $env:HTTPS_PROXY = "http://corp%5Calice:not-the-password@127.0.0.1:$($lockedProxy.Port)"
        $env:AWS_CA_BUNDLE = $ca
        $watch = [System.Diagnostics.Stopwatch]::StartNew()
        $caught = $null
        try { Start-SSMSession -Target i-0123456789abcdef0 -ErrorAction Stop @p } catch { $caught = $_ }
        $watch.Elapsed.TotalSeconds | Should -BeLessThan 5
        $caught | Should -Not -BeNullOrEmpty
        $caught.FullyQualifiedErrorId | Should -Be 'SSMSession.ProxyAuthenticationRequired,Start-SSMSession'
        $caught.CategoryInfo.Category | Should -Be 'ConnectionError'
        $caught.Exception.Message | Should -BeLike "The proxy 127.0.0.1:$($lockedProxy.Port) (from HTTPS_PROXY) refused the credentials given for it (407 Proxy Authentication Required)*"
        $caught.Exception.Message | Should -Not -Match 'not-the-password'
        (Get-ProxyRecord $lockedProxy).Status | Should -Be @(407)
    }

    It 'fails with a certificate error naming the host when the private CA is not trusted' {
        $env:HTTPS_PROXY = $openProxy.Url
        $caught = $null
        try { Start-SSMSession -Target i-0123456789abcdef0 -ErrorAction Stop @p } catch { $caught = $_ }
        $caught.FullyQualifiedErrorId | Should -Be 'SSMSession.CertificateNotTrusted,Start-SSMSession'
        $caught.CategoryInfo.Category | Should -Be 'SecurityError'
        $caught.Exception.Message | Should -BeLike "The TLS certificate of $hostName (reached through the proxy 127.0.0.1:$($openProxy.Port)) could not be verified: it was issued by a certificate authority that is not trusted*"
        (Get-ProxyRecord $openProxy).Status | Should -Be @(200)
    }

    It 'takes -ClientConfig proxy settings over the environment, with a PSCredential for the proxy' {
        $env:HTTPS_PROXY = $openProxy.Url
        $env:AWS_CA_BUNDLE = $ca
        $credential = [pscredential]::new('corp\alice', (ConvertTo-SecureString 'p@ss w:rd' -AsPlainText -Force))
        $config = @{ ProxyHost = '127.0.0.1'; ProxyPort = $lockedProxy.Port; ProxyCredentials = $credential }
        $session = Start-SSMSession -Target i-0123456789abcdef0 -ClientConfig $config @p
        $session.SessionId | Should -Match '^emulator-user-'
        (Get-ProxyRecord $lockedProxy).Status | Should -Be @(200)
        Get-ProxyRecord $openProxy | Should -BeNullOrEmpty

        # A bypass list entry (a regular expression, as in .NET) sends the host around the
        # proxy: -Debug says so, and nothing is asked of the proxy.
        $config.ProxyBypassList = @('\.emulator\.test')
        $debug = @(Start-SSMSession -Target i-0123456789abcdef0 -ClientConfig $config -Debug -WhatIf @p 5>&1 |
                Where-Object { $_ -is [System.Management.Automation.DebugRecord] -and $_.Message -like 'Network:*' })
        $debug[0].Message | Should -BeLike "Network: API calls to $hostName directly, trusting*"
        (Get-ProxyRecord $lockedProxy).Count | Should -Be 1
    }

    It 'rejects unusable proxy settings by name before any connection' {
        $caught = $null
        try { Start-SSMSession -Target i-1 -ClientConfig @{ ProxyHost = 'http://proxy.example'; ProxyPort = 3128 } -ErrorAction Stop @p } catch { $caught = $_ }
        $caught.FullyQualifiedErrorId | Should -Be 'SSMSession.InvalidProxySetting,Start-SSMSession'
        $caught.Exception.Message | Should -BeLike "ClientConfig.ProxyHost 'http://proxy.example' is not a host name or IP address*"
        $env:HTTPS_PROXY = 'socks5://user:secret@127.0.0.1:1080'
        $caught = $null
        try { Start-SSMSession -Target i-1 -ErrorAction Stop @p } catch { $caught = $_ }
        $caught.FullyQualifiedErrorId | Should -Be 'SSMSession.InvalidProxySetting,Start-SSMSession'
        $caught.Exception.Message | Should -Not -Match 'secret'
        $env:HTTPS_PROXY = $null
        $env:AWS_CA_BUNDLE = Join-Path $work 'missing.pem'
        $caught = $null
        try { Start-SSMSession -Target i-1 -ErrorAction Stop @p } catch { $caught = $_ }
        $caught.FullyQualifiedErrorId | Should -Be 'SSMSession.InvalidCaBundle,Start-SSMSession'
        $caught.Exception.Message | Should -Be "AWS_CA_BUNDLE '$($env:AWS_CA_BUNDLE)' cannot be read: No such file or directory"
        Get-ProxyRecord $openProxy | Should -BeNullOrEmpty
    }

    It 'runs a KMS-encrypted command through the proxy over wss://, KMS on the same route' {
        $env:HTTPS_PROXY = $openProxy.Url
        $env:AWS_CA_BUNDLE = $ca
        # KMS is not SSM: the emulator serves it under its made-up name.
        $env:AWS_ENDPOINT_URL_KMS = $emulator.Url
        $global:LASTEXITCODE = 0
        $lines = Invoke-SSMSessionCommand -Target i-0123456789abcdef0 -Command 'echo through-the-proxy; exit 6' @p
        $lines | Should -Be 'through-the-proxy'
        $global:LASTEXITCODE | Should -Be 6
        # The made-up name resolves nowhere but at the proxy: the session, its KMS data key and
        # its WebSocket all went through it (the API connection may be one an earlier test
        # left in the pool, so only the WebSocket's tunnel is sure to be new).
        $records = Get-ProxyRecord $openProxy
        $records.Count | Should -BeGreaterOrEqual 1
        $records | ForEach-Object { "$($_.Method) $($_.Target) $($_.Status)" } | Select-Object -Unique | Should -Be "CONNECT $authority 200"
    }

    It 'forwards a port through the proxy over wss://' {
        $env:HTTPS_PROXY = $openProxy.Url
        $env:AWS_CA_BUNDLE = $ca
        $forward = Connect-SSMSession -Target i-0123456789abcdef0 -DocumentName AWS-StartPortForwardingSession -Parameter @{ portNumber = "$($echo.Port)" } -LocalPortNumber 0 -AsJob @p
        try {
            Test-SSMTestEcho -Port $forward.LocalPort -Length 100000 -Seed 7 | Should -BeTrue
        } finally {
            $forward.Stop()
        }
        # The WebSocket's tunnel (StartSession may reuse a pooled one).
        $records = @(Get-ProxyRecord $openProxy | ForEach-Object { "$($_.Method) $($_.Target) $($_.Status)" })
        $records.Count | Should -BeGreaterOrEqual 1
        $records | Select-Object -Unique | Should -Be "CONNECT $authority 200"
    }

    It 'runs the drop-in session-manager-plugin through the proxy when the AWS CLI starts it' {
        $aws = Get-Command aws -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
        $aws | Should -Not -BeNullOrEmpty -Because 'the AWS CLI drives the drop-in plugin'
        $moduleFolder = Split-Path $manifestPath -Parent
        $pluginFolder = [System.IO.Path]::Combine($moduleFolder, 'runtimes', 'linux-x64', 'native')
        Test-Path ([System.IO.Path]::Combine($pluginFolder, 'session-manager-plugin')) | Should -BeTrue
        # The CLI and the plugin it starts read the process environment: proxy and CA set
        # there. This emulator asks for KMS encryption: the plugin's KMS calls go to it too.
        $run = Invoke-SSMTestAwsCliCommand -Command 'echo via-the-cli' -Target i-0123456789abcdef0 -EndpointUrl $emulator.Url -Region $emulator.Region `
            -PluginFolder $pluginFolder -HomeFolder $work -AccessKey $emulator.AccessKey -SecretKey $emulator.SecretKey `
            -Environment @{ HTTPS_PROXY = $openProxy.Url; AWS_CA_BUNDLE = $ca; AWS_ENDPOINT_URL_KMS = $emulator.Url }
        $run.Output | Should -Match 'Starting session with SessionId: emulator-user-\S+\s+This session is encrypted using AWS KMS\.\s+via-the-cli\s+' -Because $run.Errors
        $run.ExitCode | Should -Be 0 -Because $run.Errors
        # The CLI's StartSession, then the plugin's KMS call and WebSocket.
        (Get-ProxyRecord $openProxy | ForEach-Object { "$($_.Target) $($_.Status)" }) | Should -Be @("$authority 200", "$authority 200", "$authority 200")
    }
}
