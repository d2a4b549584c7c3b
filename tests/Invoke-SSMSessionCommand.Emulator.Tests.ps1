#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }

# Invoke-SSMSessionCommand through the real native library and the emulator, whose agent
# runs the command on this machine as AWS's agent would: without a shell (the module wraps
# the text in sh -c), with AWS-StartNonInteractiveCommand merging both streams and sending
# no exit code (the wrapper's trailer carries it), with a separate-output document
# (New-SSMSessionCommandDocument) streaming them apart with the agent's exit code.
# Loopback only.

Describe 'Invoke-SSMSessionCommand against the local emulator' -Skip:$IsWindows {
    BeforeAll {
        $repositoryRoot = Split-Path $PSScriptRoot -Parent
        $manifestPath = $(if ($env:SSMSESSION_TEST_MANIFEST) { $env:SSMSESSION_TEST_MANIFEST } else { Join-Path $repositoryRoot 'SSMSession.psd1' })
        Import-Module $manifestPath -Force
        $savedMetadata = $env:AWS_EC2_METADATA_DISABLED
        $env:AWS_EC2_METADATA_DISABLED = 'true'
        $emulator = Start-SSMSessionEmulator
        $p = $emulator.Parameters
        # No process of a stopped command may be left on the node (this machine).
        function Test-ProcessGone([string] $Pattern) {
            $deadline = [datetime]::UtcNow.AddSeconds(10)
            while ([datetime]::UtcNow -lt $deadline) {
                $running = @(& pgrep -f -- $Pattern)
                if ($running.Count -eq 0) { return $true }
                Start-Sleep -Milliseconds 200
            }
            $false
        }
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

    It 'runs shell text with AWS''s own document: both streams as output (the agent merges them), the exit code in $LASTEXITCODE' {
        $global:LASTEXITCODE = 0
        $lines = Invoke-SSMSessionCommand -Target i-0123456789abcdef0 -Command 'echo first; echo oops >&2; printf "second\nno newline"; exit 3' `
            -ErrorVariable remoteErrors -ErrorAction SilentlyContinue -WarningVariable warned @p
        $lines | Should -Be @('first', 'oops', 'second', 'no newline')
        $remoteErrors.Count | Should -Be 0
        $warned.Count | Should -Be 0
        $global:LASTEXITCODE | Should -Be 3
    }

    It 'creates a separate-output document (not with -WhatIf; once) with which stdout and stderr stay apart and the agent reports the code' {
        New-SSMSessionCommandDocument -Name Test-SeparateOutput -WhatIf @p | Should -BeNullOrEmpty
        $document = New-SSMSessionCommandDocument -Name Test-SeparateOutput @p
        $document.PSObject.TypeNames[0] | Should -Be 'SSMSession.SessionDocument'
        $document.Name | Should -Be 'Test-SeparateOutput'
        $document.DocumentType | Should -Be 'Session'
        $document.Status | Should -Be 'Active'
        { New-SSMSessionCommandDocument -Name Test-SeparateOutput @p } | Should -Throw -ExpectedMessage '*already exists*'

        $global:LASTEXITCODE = 0
        $lines = Invoke-SSMSessionCommand -Target i-0123456789abcdef0 -DocumentName Test-SeparateOutput `
            -Command 'echo first; echo oops >&2; printf "second\nno newline"; exit 3' `
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

    It 'stops a long command at -TimeoutSec with Ctrl+C: nothing of it keeps running, what it wrote and its exit code arrive' {
        $global:LASTEXITCODE = 42
        $watch = [System.Diagnostics.Stopwatch]::StartNew()
        # A pipeline of two processes under the command's shell: all of them must end.
        $output = Invoke-SSMSessionCommand -Target i-1 -Command 'echo started; sleep 3171 | cat' -TimeoutSec 2 -PassThru `
            -WarningAction SilentlyContinue -ErrorVariable failed -ErrorAction SilentlyContinue @p
        $watch.Elapsed.TotalSeconds | Should -BeLessThan 20
        $result = $output[-1]
        $output[0] | Should -Be 'started' -Because 'AWS-StartNonInteractiveCommand sends output only at the end, after the stop'
        $failed.Count | Should -Be 0 -Because 'nothing was cut'
        $result.State | Should -Be 'TimedOut'
        $result.ExitCode | Should -Be 143 -Because 'the wrapper turns Ctrl+C into SIGTERM'
        $global:LASTEXITCODE | Should -Be 143
        Test-ProcessGone 'sleep 3171' | Should -BeTrue
        Test-SessionEnded $result.SessionId | Should -BeTrue
    }

    It 'leaves nothing running of a command that ignores Ctrl+C and SIGTERM: the session''s end kills it all, and no exit code is known' {
        $global:LASTEXITCODE = 42
        $result = Invoke-SSMSessionCommand -Target i-1 -Command 'trap "" INT TERM; sleep 3172; echo never' -TimeoutSec 2 -PassThru `
            -WarningAction SilentlyContinue -ErrorAction SilentlyContinue @p
        $result.State | Should -Be 'TimedOut'
        $result.ExitCode | Should -BeNullOrEmpty
        $global:LASTEXITCODE | Should -BeNullOrEmpty -Because 'a stale code from an earlier command must not remain'
        Test-ProcessGone 'sleep 3172' | Should -BeTrue
        Test-SessionEnded $result.SessionId | Should -BeTrue
    }

    It 'sends the text as it is with -NoShell: no shell runs it, and without separate output there is no exit code ($null and a warning)' {
        $global:LASTEXITCODE = 5
        $lines = Invoke-SSMSessionCommand -Target i-1 -Command 'echo a; exit 3' -NoShell -WarningVariable warned -WarningAction SilentlyContinue @p
        $lines | Should -Be 'a; exit 3'
        $global:LASTEXITCODE | Should -BeNullOrEmpty
        @($warned).Count | Should -Be 1
        $warned[0].Message | Should -BeLike '*separateOutputStream*'
    }

    It 'runs KMS-encrypted sessions when the agent asks for encryption' {
        $encrypting = Start-SSMSessionEmulator -ArgumentList '--kms-key-id', 'alias/ssm-sessions'
        try {
            $kms = $encrypting.Parameters
            $global:LASTEXITCODE = 0
            $lines = Invoke-SSMSessionCommand -Target i-0123456789abcdef0 -Command 'echo encrypted-out; echo encrypted-err >&2; exit 4' `
                -Verbose 4>&1 @kms
            $verbose = @($lines | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message)
            @($lines | Where-Object { $_ -is [string] }) | Should -Be @('encrypted-out', 'encrypted-err')
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
