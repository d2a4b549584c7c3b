#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }

# How Start-SSMSession behaves when the service misbehaves: the emulator's fault targets
# answer 503s, error pages, broken or cut-off bodies, drop the connection mid-response or
# fail a set number of times; expired and wrongly signed requests get 403s; an endpoint
# whose name cannot resolve never answers at all. Each ends in the documented retries and
# then one terminating ErrorRecord that names the cause, in bounded time.

Describe 'Start-SSMSession when the service fails' {
    BeforeAll {
        $repositoryRoot = Split-Path $PSScriptRoot -Parent
        Import-Module ([System.IO.Path]::Combine($PSScriptRoot, 'Support', 'SSMEmulator.psm1')) -Force
        $emulatorPath = if ($env:SSMSESSION_EMULATOR_PATH) { $env:SSMSESSION_EMULATOR_PATH } else { [System.IO.Path]::Combine($repositoryRoot, 'target', 'release', 'ssm-emulator') }
        # Temporary credentials it issues expire after 2 s (for the expired-token case).
        $emulator = Start-SSMEmulator -Path $emulatorPath -ArgumentList '--credential-lifetime-seconds', '2'
        Import-Module $(if ($env:SSMSESSION_TEST_MANIFEST) { $env:SSMSESSION_TEST_MANIFEST } else { Join-Path $repositoryRoot 'SSMSession.psd1' }) -Force

        $savedEnvironment = @{}
        foreach ($item in @(Get-ChildItem Env: | Where-Object { $_.Name -like 'AWS_*' })) {
            $savedEnvironment[$item.Name] = $item.Value
            Remove-Item -LiteralPath "Env:$($item.Name)"
        }
        $env:AWS_EC2_METADATA_DISABLED = 'true'

        $common = @{ Region = 'eu-west-3'; EndpointUrl = $emulator.Url; AccessKey = 'AKIDSSMEMULATOR'; SecretKey = 'ssm-emulator-secret-key' }
        $invoke = {
            param([string] $Target, [hashtable] $Extra = @{})
            $watch = [System.Diagnostics.Stopwatch]::StartNew()
            $caught = $null
            $result = $null
            $arguments = $common.Clone()
            foreach ($key in $Extra.Keys) { $arguments[$key] = $Extra[$key] }
            try {
                $result = Start-SSMSession -Target $Target @arguments -ErrorAction Stop
            } catch {
                $caught = $_
            }
            [pscustomobject]@{ Error = $caught; Result = $result; Seconds = $watch.Elapsed.TotalSeconds }
        }
        # What Rust's Debug formatting and panics look like; never meant for users.
        $debugText = 'Some\(|None\b|\{ [a-z_]+: |panicked|RUST_BACKTRACE|SdkError|DispatchFailure\('
    }

    AfterAll {
        Stop-SSMEmulator -Emulator $emulator
        Get-ChildItem Env: | Where-Object Name -like 'AWS_*' | ForEach-Object { Remove-Item -LiteralPath "Env:$($_.Name)" }
        foreach ($entry in $savedEnvironment.GetEnumerator()) {
            Set-Item -LiteralPath "Env:$($entry.Key)" -Value $entry.Value
        }
    }

    It 'retries a 503 and succeeds when the service recovers within the attempts' {
        # Fails twice, then answers: the default 3 attempts get through.
        $outcome = & $invoke "i-flaky-2-$([guid]::NewGuid().ToString('N'))"
        $outcome.Error | Should -BeNullOrEmpty
        $outcome.Result.SessionId | Should -Not -BeNullOrEmpty
    }

    It 'gives up after ClientConfig.MaxErrorRetry retries with the 503 as a terminating error' {
        # Fails twice; one retry (two attempts) is not enough.
        $outcome = & $invoke "i-flaky-2-$([guid]::NewGuid().ToString('N'))" @{ ClientConfig = @{ MaxErrorRetry = 1 } }
        $outcome.Error.FullyQualifiedErrorId | Should -Be 'Amazon.SimpleSystemsManagement.AmazonSimpleSystemsManagementException,Start-SSMSession'
        $outcome.Error.Exception.Data['ErrorCode'] | Should -Be 'ServiceUnavailable'
        $outcome.Error.Exception.Data['StatusCode'] | Should -Be 503
        $outcome.Error.Exception.Message | Should -Be 'Service is temporarily unavailable. Please try again later.'
    }

    It 'reports an HTML error page (HTTP 500) as an unreadable response, after the retries' {
        $outcome = & $invoke 'i-fault-html'
        $outcome.Error.FullyQualifiedErrorId | Should -Be 'SSMSession.InvalidResponse,Start-SSMSession'
        $outcome.Error.CategoryInfo.Category | Should -Be 'InvalidResult'
        $outcome.Error.Exception.Message | Should -BeLike "The SSM service at endpoint '$($emulator.Url)' sent a response that could not be read (HTTP 500)*"
        $outcome.Error.Exception.Message | Should -Not -Match $debugText
    }

    It 'reports a success status whose body is <Name> as an unreadable response' -ForEach @(
        @{ Name = 'HTML instead of JSON'; Target = 'i-fault-notjson' }
        @{ Name = 'JSON cut off halfway'; Target = 'i-fault-truncated' }
    ) {
        $outcome = & $invoke $Target
        $outcome.Error.FullyQualifiedErrorId | Should -Be 'SSMSession.InvalidResponse,Start-SSMSession'
        $outcome.Error.Exception.Message | Should -BeLike '*sent a response that could not be read (HTTP 200)*'
        $outcome.Error.Exception.Message | Should -Not -Match $debugText
        $outcome.Error.TargetObject | Should -Be $Target
    }

    It 'reports a connection dropped in the middle of the response as a connection failure' {
        $outcome = & $invoke 'i-fault-reset'
        $outcome.Error.FullyQualifiedErrorId | Should -Be 'SSMSession.ConnectionFailure,Start-SSMSession'
        $outcome.Error.CategoryInfo.Category | Should -Be 'ConnectionError'
        $outcome.Error.Exception.Message | Should -BeLike "Could not reach the SSM service at endpoint '$($emulator.Url)'*connection closed before message completed*"
        $outcome.Error.Exception.Message | Should -Not -Match $debugText
    }

    It 'reads a valid body whatever its Content-Type says, as the AWS SDKs do' {
        $outcome = & $invoke 'i-fault-contenttype'
        $outcome.Error | Should -BeNullOrEmpty
        $outcome.Result.SessionId | Should -Not -BeNullOrEmpty
    }

    It 'reports throttling with the service''s code after the retries' {
        $outcome = & $invoke 'i-throttled' @{ ClientConfig = @{ MaxErrorRetry = 1 } }
        $outcome.Error.Exception.Data['ErrorCode'] | Should -Be 'ThrottlingException'
        $outcome.Error.Exception.Message | Should -Be 'Rate exceeded'
    }

    It 'stops waiting for an answer at ClientConfig.Timeout, retries included' {
        # Each attempt times out after 0.3 s; 2 attempts and the backoff stay well under the
        # 5 s the emulator would take.
        $outcome = & $invoke 'i-delay-5000' @{ ClientConfig = @{ Timeout = 0.3; MaxErrorRetry = 1 } }
        $outcome.Error.FullyQualifiedErrorId | Should -Be 'SSMSession.Timeout,Start-SSMSession'
        $outcome.Seconds | Should -BeLessThan 4.5
    }

    It 'rejects a wrong signature with 403 InvalidSignatureException' {
        $outcome = & $invoke 'i-1' @{ SecretKey = 'not-the-secret' }
        $outcome.Error.Exception.Data['ErrorCode'] | Should -Be 'InvalidSignatureException'
        $outcome.Error.Exception.Data['StatusCode'] | Should -Be 403
    }

    It 'reports an expired session token with 403 ExpiredTokenException' {
        $issued = Invoke-RestMethod -Uri "$($emulator.Url)/credentials/container"
        # Used once the expiry it states has passed (the emulator issues them for seconds;
        # the document states whole seconds, so one more covers the cut fraction).
        $expires = [System.DateTimeOffset]::Parse("$($issued.Expiration)", [cultureinfo]::InvariantCulture)
        ($expires - [System.DateTimeOffset]::UtcNow).TotalSeconds | Should -BeLessThan 30
        $deadline = [System.DateTimeOffset]::UtcNow.AddSeconds(30)
        while ([System.DateTimeOffset]::UtcNow -le $expires.AddSeconds(1) -and [System.DateTimeOffset]::UtcNow -lt $deadline) {
            Start-Sleep -Milliseconds 100
        }
        $outcome = & $invoke 'i-1' @{ AccessKey = $issued.AccessKeyId; SecretKey = $issued.SecretAccessKey; SessionToken = $issued.Token }
        $outcome.Error.FullyQualifiedErrorId | Should -Be 'Amazon.SimpleSystemsManagement.AmazonSimpleSystemsManagementException,Start-SSMSession'
        $outcome.Error.Exception.Data['ErrorCode'] | Should -Be 'ExpiredTokenException'
        $outcome.Error.Exception.Data['StatusCode'] | Should -Be 403
        $outcome.Error.Exception.Message | Should -Be 'The security token included in the request is expired'
    }

    It 'reports an endpoint whose host name cannot resolve as a connection failure naming DNS' {
        # A 64-character label is invalid: the resolver refuses it without asking any server.
        # (Over https the TLS layer would refuse the name first; plain http to a host that is
        # not loopback needs the opt-in.)
        $endpoint = "http://$('a' * 64).invalid:8080"
        $env:SSMSESSION_ALLOW_HTTP = '1'
        try {
            $outcome = & $invoke 'i-1' @{ EndpointUrl = $endpoint; ClientConfig = @{ MaxErrorRetry = 0 }; WarningAction = 'SilentlyContinue' }
        } finally {
            Remove-Item Env:SSMSESSION_ALLOW_HTTP
        }
        $outcome.Error.FullyQualifiedErrorId | Should -Be 'SSMSession.ConnectionFailure,Start-SSMSession'
        $outcome.Error.Exception.Message | Should -BeLike "Could not reach the SSM service at endpoint '$endpoint'*dns error*"
        $outcome.Error.Exception.Message | Should -Not -Match $debugText
    }

    It 'leaves pwsh usable after every failure: the next call succeeds' {
        $outcome = & $invoke 'i-0123456789abcdef0'
        $outcome.Error | Should -BeNullOrEmpty
        $outcome.Result.StreamUrl | Should -BeLike 'ws://127.0.0.1:*'
    }
}
