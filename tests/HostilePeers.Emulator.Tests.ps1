#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }

# The module against peers and input that break its assumptions: the emulator's hostile
# targets (i-hostile-*, see the README's emulator section) play agents and endpoints that
# flood, resend only their oldest message, send far ahead, send endless bodies or lines,
# accept and drop, hand out plain-text URLs, send malformed multiplexing frames or never
# answer TerminateSession; and input with control characters or values that are not
# strings. Each test is something a user would see go wrong. Loopback only.

Describe 'Against hostile peers and input (local emulator)' -Skip:$IsWindows {
    BeforeAll {
        $repositoryRoot = Split-Path $PSScriptRoot -Parent
        $manifestPath = $(if ($env:SSMSESSION_TEST_MANIFEST) { $env:SSMSESSION_TEST_MANIFEST } else { Join-Path $repositoryRoot 'SSMSession.psd1' })
        Import-Module $manifestPath -Force
        $savedMetadata = $env:AWS_EC2_METADATA_DISABLED
        $env:AWS_EC2_METADATA_DISABLED = 'true'
        $emulator = Start-SSMSessionEmulator
        $p = $emulator.Parameters
        $emulatorPort = ([uri]$emulator.Url).Port
        # A line of 100 characters: few pipeline objects for many bytes.
        $longLine = '0123456789' * 10

        # The growth of this process's peak resident memory while $Script runs, in MB
        # (Linux: the peak is reset through /proc/self/clear_refs first).
        function Measure-PeakGrowth([scriptblock] $Script) {
            $peakKiB = { [long]((Get-Content /proc/self/status | Where-Object { $_ -like 'VmHWM:*' }) -replace '\D') }
            [GC]::Collect()
            # Writing "5" to clear_refs sets the peak to the current resident size.
            $clear = [System.IO.FileStream]::new('/proc/self/clear_refs', [System.IO.FileMode]::Open, [System.IO.FileAccess]::Write)
            try { $clear.Write([byte[]](0x35), 0, 1) } finally { $clear.Dispose() }
            $before = & $peakKiB
            $null = & $Script
            ((& $peakKiB) - $before) / 1KB
        }

        function Start-PortForward([string] $Target) {
            Start-SSMSession -Target $Target -DocumentName AWS-StartPortForwardingSession `
                -Parameter @{ portNumber = "$emulatorPort"; localPortNumber = '0' } @p |
                Connect-SSMSession -AsJob
        }
    }

    AfterAll {
        Get-SSMPortForward | ForEach-Object { $_.Stop() }
        $emulator.Stop()
        Get-Module SSMSession | Remove-Module
        $env:AWS_EC2_METADATA_DISABLED = $savedMetadata
    }

    Context 'no acknowledged output is lost' {
        # Before: the client acknowledged what it could not yet deliver, the agent finished
        # and closed, and what the paused reader had not taken 2 s after the close was
        # dropped without an error, often with the exit code.
        It 'delivers every line and the exit code of a flooding agent (<Target>) to a pipeline that pauses' -ForEach @(
            @{ Target = 'i-hostile-flood' }
            @{ Target = 'i-hostile-flood-32768' }
        ) {
            $global:LASTEXITCODE = $null
            $count = 0
            Invoke-SSMSessionCommand -Target $Target -Command "yes $longLine | head -n 150000; exit 3" @p |
                ForEach-Object { if (++$count -eq 1000) { Start-Sleep -Seconds 4 }; if ($_ -ne $longLine) { throw "line $count differs" } }
            $count | Should -Be 150000
            $global:LASTEXITCODE | Should -Be 3
        }

        # The reference agent's discipline: it never waits for acknowledgements and resends
        # only its oldest unacknowledged message. Before: what did not fit was dropped
        # unacknowledged and came back one timer tick at a time, or not at all.
        It 'delivers everything from an agent that resends only its oldest message to a pipeline that pauses' {
            $count = 0
            Invoke-SSMSessionCommand -Target i-hostile-oldest-only-0 -Command "yes $longLine | head -n 300000" @p |
                ForEach-Object { if (++$count -eq 1000) { Start-Sleep -Seconds 3 } }
            $count | Should -Be 300000
        }
    }

    Context 'memory stays bounded whatever the agent sends' {
        It 'keeps at most its reorder bound of 300 messages of 1 MB sent far ahead (before: all of them), and says what it kept could not be delivered' {
            $script:output = $script:failed = $null
            $growth = Measure-PeakGrowth {
                $script:output = Invoke-SSMSessionCommand -Target i-hostile-far-ahead-300 -Command 'echo done' -ErrorVariable failed -ErrorAction SilentlyContinue @p
                $script:failed = $failed
            }
            $script:output | Should -Be 'done'
            @($script:failed).Count | Should -Be 1
            $script:failed[0].FullyQualifiedErrorId | Should -Be 'SSMSession.OutputCut,Invoke-SSMSessionCommand'
            $script:failed[0].Exception.Message | Should -BeLike '*the agent skipped sequence numbers*'
            Write-Information "far-ahead flood of 300 MB: peak RSS +$([math]::Round($growth)) MB" -InformationAction Continue
            $growth | Should -BeLessThan 64
        }

        It 'writes 72 MB without a line break in pieces of 1 Mi characters, with a warning, in bounded memory (before: 1.3 GB)' {
            $script:pieces = 0
            $script:characters = 0L
            $script:warnings = $null
            $growth = Measure-PeakGrowth {
                Invoke-SSMSessionCommand -Target i-hostile-no-newline-72000000 -Command 'x' -WarningVariable warned -WarningAction SilentlyContinue @p |
                    ForEach-Object { $script:pieces++; $script:characters += $_.Length }
                $script:warnings = $warned
            }
            $script:characters | Should -Be 72000000
            $script:pieces | Should -Be ([math]::Ceiling(72000000 / 1MB))
            @($script:warnings).Count | Should -Be 1
            $script:warnings[0].Message | Should -BeLike '*longer than 1048576 characters*'
            Write-Information "72 MB without a line break: peak RSS +$([math]::Round($growth)) MB" -InformationAction Continue
            # Measured 76–430 MB: the 8 MiB takes become large strings whose garbage only a
            # full collection frees, so the peak depends on when the GC runs (most in a pwsh
            # that ran many tests before). Quadratic growth, the defect, reached 1.3 GB.
            $growth | Should -BeLessThan 640
        }

        It 'cuts an endless StartSession response at 1 MiB with a clear error (before: 6 GB)' {
            $script:failure = $null
            $growth = Measure-PeakGrowth {
                try { Start-SSMSession -Target i-hostile-endless-body @p } catch { $script:failure = $_ }
            }
            $script:failure | Should -Not -BeNullOrEmpty
            $script:failure.FullyQualifiedErrorId | Should -Be 'SSMSession.InvalidResponse,Start-SSMSession'
            $script:failure.Exception.Message | Should -BeLike '*larger than 1024 KiB*'
            $growth | Should -BeLessThan 100
        }
    }

    Context 'reconnects and URLs' {
        It 'gives up on sockets that drop right after connecting, after a few attempts with back-off (before: ~440 a second, for ever)' {
            $forward = Start-PortForward i-hostile-accept-drop
            $forward.Wait(90) | Should -BeTrue
            $forward.State | Should -Be 'Failed'
            $forward.Message | Should -BeLike '*could not be restored*'
            $forward.Statistics.Reconnects | Should -BeLessOrEqual 6
            $forward.Stop()
        }

        It 'refuses a ws:// stream URL on a host that is not loopback from ResumeSession (before: reconnected in plain text)' {
            $forward = Start-PortForward i-hostile-ws-resume
            $forward.Wait(30) | Should -BeTrue
            $forward.State | Should -Be 'Failed'
            $forward.Message | Should -BeLike '*ws://*0.0.0.0*'
            $forward.Statistics.Reconnects | Should -Be 0
            $forward.Stop()
        }
    }

    Context 'honest states' {
        It 'fails a forward whose agent sends a malformed smux frame, saying so (before: Stopped, no message)' {
            $forward = Start-PortForward i-hostile-bad-smux
            $client = [System.Net.Sockets.TcpClient]::new('127.0.0.1', $forward.LocalPort)
            try {
                $client.GetStream().Write([byte[]](1, 2, 3), 0, 3)
                $forward.Wait(20) | Should -BeTrue
            } finally {
                $client.Dispose()
            }
            $forward.State | Should -Be 'Failed'
            $forward.Message | Should -BeLike '*smux*version 7*'
            $forward.Stop()
        }

        It 'returns from Stop() while TerminateSession hangs, with a final state that says so (before: Running)' {
            $forward = Start-PortForward i-hostile-terminate-hang
            $watch = [System.Diagnostics.Stopwatch]::StartNew()
            $forward.Stop()
            $watch.Elapsed.TotalSeconds | Should -BeLessThan 31
            $forward.FinalStatus.State | Should -Be 'Failed'
            $forward.FinalStatus.Message | Should -BeLike '*TerminateSession did not answer within 20 s*'
        }
    }

    Context 'input is checked before anything is sent' {
        It 'refuses -<Name> with a control character, naming it and never showing the value' -ForEach @(
            @{ Name = 'AccessKey'; Arguments = @{ AccessKey = "AKVALUE`nID"; SecretKey = 'secret' }; CodePoint = '000A' }
            @{ Name = 'AccessKey'; Arguments = @{ AccessKey = "AKVALUE$([char]0x7F)"; SecretKey = 'secret' }; CodePoint = '007F' }
            @{ Name = 'SessionToken'; Arguments = @{ AccessKey = 'AKID'; SecretKey = 'secret'; SessionToken = "TOKENVALUE$([char]0)" }; CodePoint = '0000' }
            @{ Name = 'Region'; Arguments = @{ Region = "eu-west-3`r" }; CodePoint = '000D' }
        ) {
            $arguments = $Arguments
            $failure = { Start-SSMSession -Target i-1 -EndpointUrl $emulator.Url @arguments } |
                Should -Throw -ErrorId 'System.ArgumentException,Start-SSMSession' -PassThru
            $failure.Exception.Message | Should -BeLike "-$Name contains a control character (U+$CodePoint *"
            $failure.Exception.Message | Should -Not -BeLike '*VALUE*'
            $failure.Exception.ParamName | Should -Be $Name
        }

        It 'refuses a -Parameter value that is not a string, number or boolean, naming the key' -ForEach @(
            @{ Value = @{ a = 1 }; Type = 'System.Collections.Hashtable' }
            @{ Value = { Get-Date }; Type = 'System.Management.Automation.ScriptBlock' }
            @{ Value = [pscustomobject]@{ a = 1 }; Type = 'System.Management.Automation.PSCustomObject' }
            @{ Value = @('80', @('81')); Type = 'System.Object[]' }
        ) {
            $parameter = @{ portNumber = $Value }
            $failure = { Start-SSMSession -Target i-1 -DocumentName AWS-StartPortForwardingSession -Parameter $parameter @p } |
                Should -Throw -ErrorId 'System.ArgumentException,Start-SSMSession' -PassThru
            $failure.Exception.Message | Should -BeLike ("The value of parameter 'portNumber' is a {0};*" -f [WildcardPattern]::Escape($Type))
        }

        It 'still sends numbers, booleans and arrays of them as strings' {
            $session = Start-SSMSession -Target i-1 -DocumentName AWS-StartPortForwardingSession -Parameter @{ portNumber = 80; localPortNumber = @(0) } @p
            $session.SessionId | Should -Not -BeNullOrEmpty
            Stop-SSMSession -SessionId $session.SessionId -Force @p | Should -Be $session.SessionId
        }
    }
}
