#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }

# Invoke-SSMSessionCommand through the real native library and the emulator, whose agent
# runs the command on this machine (sh -c): standard output, standard error and the exit
# code reach the caller apart. Loopback only.

Describe 'Invoke-SSMSessionCommand against the local emulator' -Skip:$IsWindows {
    BeforeAll {
        $repositoryRoot = Split-Path $PSScriptRoot -Parent
        $manifestPath = $(if ($env:SSMSESSION_TEST_MANIFEST) { $env:SSMSESSION_TEST_MANIFEST } else { Join-Path $repositoryRoot 'SSMSession.psd1' })
        Import-Module $manifestPath -Force
        $savedMetadata = $env:AWS_EC2_METADATA_DISABLED
        $env:AWS_EC2_METADATA_DISABLED = 'true'
        $emulator = Start-SSMSessionEmulator
        $p = $emulator.Parameters
        function Test-SessionEnded([string] $SessionId) {
            try {
                $null = Resume-SSMSession -SessionId $SessionId -Force @p
                $false
            } catch {
                $_.FullyQualifiedErrorId -eq 'Amazon.SimpleSystemsManagement.Model.DoesNotExistException,Resume-SSMSession'
            }
        }
    }

    AfterAll {
        $emulator.Stop()
        Get-Module SSMSession | Remove-Module
        $env:AWS_EC2_METADATA_DISABLED = $savedMetadata
    }

    It 'writes stdout lines to the output, stderr lines to the error stream, and sets $LASTEXITCODE' {
        $global:LASTEXITCODE = 0
        $lines = Invoke-SSMSessionCommand -Target i-0123456789abcdef0 -Command 'echo first; echo oops >&2; printf "second\nno newline"; exit 3' `
            -ErrorVariable remoteErrors -ErrorAction SilentlyContinue @p
        $lines | Should -Be @('first', 'second', 'no newline')
        $remoteErrors.Count | Should -Be 1
        $remoteErrors[0].FullyQualifiedErrorId | Should -Be 'SSMSession.RemoteStandardError,Invoke-SSMSessionCommand'
        $remoteErrors[0].CategoryInfo.Category | Should -Be 'FromStdErr'
        $remoteErrors[0].Exception.Message | Should -Be 'oops'
        $remoteErrors[0].TargetObject | Should -Be 'i-0123456789abcdef0'
        $global:LASTEXITCODE | Should -Be 3
    }

    It 'reports success as 0 and returns a result object with -PassThru' {
        $global:LASTEXITCODE = 99
        $output = Invoke-SSMSessionCommand i-0123456789abcdef0 'echo ok' -PassThru @p
        $output[0] | Should -Be 'ok'
        $result = $output[-1]
        $result.PSObject.TypeNames[0] | Should -Be 'SSMSession.CommandResult'
        $result.ExitCode | Should -Be 0
        $result.State | Should -Be 'Closed'
        $result.Target | Should -Be 'i-0123456789abcdef0'
        $result.SessionId | Should -BeLike 'emulator-user-*'
        $global:LASTEXITCODE | Should -Be 0
        Test-SessionEnded $result.SessionId | Should -BeTrue
    }

    It 'keeps text whole across messages: UTF-8 and 100,000 lines' {
        $output = Invoke-SSMSessionCommand -Target i-1 -Command 'seq 1 100000; printf "\342\202\254 caf\303\251\n"' -PassThru @p
        $result = $output[-1]
        $lines = @($output | Select-Object -SkipLast 1)
        # The result tells a cut-short command (a killed seq exits 141) from lost messages.
        $lines.Count | Should -Be 100001 -Because "the command ended $($result.State) with exit code $($result.ExitCode)"
        $lines[0] | Should -Be '1'
        $lines[99999] | Should -Be '100000'
        $lines[-1] | Should -Be '€ café'
    }

    It 'writes the text as it arrives with -Raw' {
        $text = (Invoke-SSMSessionCommand -Target i-1 -Command 'printf "a\nb"' -Raw @p) -join ''
        $text | Should -Be "a`nb"
    }

    It 'runs once per target from the pipeline, by property name too' {
        $results = @([pscustomobject]@{ InstanceId = 'i-aaaa' }, 'i-bbbb') | Invoke-SSMSessionCommand -Command 'exit 7' -PassThru @p
        $results.Target | Should -Be @('i-aaaa', 'i-bbbb')
        $results.ExitCode | Should -Be @(7, 7)
    }

    It 'stops a long command at -TimeoutSec and terminates its session' {
        $global:LASTEXITCODE = 42
        $watch = [System.Diagnostics.Stopwatch]::StartNew()
        $result = Invoke-SSMSessionCommand -Target i-1 -Command 'sleep 30' -TimeoutSec 1 -PassThru -WarningAction SilentlyContinue @p
        $watch.Elapsed.TotalSeconds | Should -BeLessThan 20
        $result.State | Should -Be 'TimedOut'
        $result.ExitCode | Should -BeNullOrEmpty
        $global:LASTEXITCODE | Should -Be 42
        Test-SessionEnded $result.SessionId | Should -BeTrue
    }

    It 'runs KMS-encrypted sessions when the agent asks for encryption' {
        $encrypting = Start-SSMSessionEmulator -ArgumentList '--kms-key-id', 'alias/ssm-sessions'
        try {
            $kms = $encrypting.Parameters
            $global:LASTEXITCODE = 0
            $lines = Invoke-SSMSessionCommand -Target i-0123456789abcdef0 -Command 'echo encrypted-out; echo encrypted-err >&2; exit 4' `
                -ErrorVariable remoteErrors -ErrorAction SilentlyContinue -Verbose 4>&1 @kms
            $verbose = @($lines | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message)
            @($lines | Where-Object { $_ -is [string] }) | Should -Be @('encrypted-out')
            $remoteErrors[0].Exception.Message | Should -Be 'encrypted-err'
            $global:LASTEXITCODE | Should -Be 4
            $verbose | Should -Contain 'This session is encrypted using AWS KMS.'
        } finally {
            $encrypting.Stop()
        }
    }

    It 'does nothing with -WhatIf' {
        Invoke-SSMSessionCommand -Target i-1 -Command 'exit 1' -WhatIf @p | Should -BeNullOrEmpty
    }
}
