#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }

# Port forwarding from PowerShell through the real native library and the emulator's fake
# agent to a TCP echo server on 127.0.0.1; Stop-SSMSession and Resume-SSMSession against the
# emulator. Loopback only.

Describe 'Connect-SSMSession, Stop-SSMSession and Resume-SSMSession against the local emulator' {
    BeforeAll {
        $repositoryRoot = Split-Path $PSScriptRoot -Parent
        Import-Module ([System.IO.Path]::Combine($PSScriptRoot, 'Support', 'SSMEmulator.psm1')) -Force
        Import-Module ([System.IO.Path]::Combine($PSScriptRoot, 'Support', 'EchoServer.psm1')) -Force
        $emulatorPath = if ($env:SSMSESSION_EMULATOR_PATH) { $env:SSMSESSION_EMULATOR_PATH } else { [System.IO.Path]::Combine($repositoryRoot, 'target', 'release', 'ssm-emulator') }
        $emulator = Start-SSMEmulator -Path $emulatorPath
        # Loses, duplicates and reorders frames, and closes every socket after 700 ms.
        $faulty = Start-SSMEmulator -Path $emulatorPath -ArgumentList '--fault-drop', '0.05', '--fault-duplicate', '0.05', '--fault-reorder', '0.05', '--fault-close-after-ms', '700', '--agent-chunk-size', '16384'
        # Goes silent 300 ms after each socket opens: reads and discards, acknowledges nothing.
        $stalled = Start-SSMEmulator -Path $emulatorPath -ArgumentList '--fault-stall-after-ms', '300'
        $echo = Start-SSMTestEchoServer
        $manifestPath = $(if ($env:SSMSESSION_TEST_MANIFEST) { $env:SSMSESSION_TEST_MANIFEST } else { Join-Path $repositoryRoot 'SSMSession.psd1' })
        Import-Module $manifestPath -Force

        $savedEnvironment = @{}
        foreach ($item in @(Get-ChildItem Env: | Where-Object { $_.Name -like 'AWS_*' -or $_.Name -eq 'HOME' })) {
            $savedEnvironment[$item.Name] = $item.Value
            Remove-Item -LiteralPath "Env:$($item.Name)"
        }
        $fakeHome = Join-Path (Get-PSDrive TestDrive).Root 'home'
        New-Item -ItemType Directory -Path (Join-Path $fakeHome '.aws') -Force | Out-Null
        $env:HOME = $fakeHome
        $env:AWS_EC2_METADATA_DISABLED = 'true'

        $common = @{ Region = 'eu-west-3'; EndpointUrl = $emulator.Url; AccessKey = 'AKIDSSMEMULATOR'; SecretKey = 'ssm-emulator-secret-key' }
        $portParameters = @{ portNumber = "$($echo.Port)"; localPortNumber = '0' }
        function Start-PortSession([hashtable] $Client = $common, [string] $Target = 'i-064578e5e7454488f') {
            Start-SSMSession -Target $Target -DocumentName AWS-StartPortForwardingSession -Parameter $portParameters @Client
        }
        # Whether the runspace's forward is listening: its progress record names the port.
        function Test-ForwardListening($Runspace) {
            @($Runspace.Streams.Progress | Where-Object { $_.Activity -like 'Forwarding 127.0.0.1:*' }).Count -gt 0
        }
        function Test-SessionEnded([string] $SessionId, [hashtable] $Client = $common) {
            try {
                $null = Resume-SSMSession -SessionId $SessionId -Force @Client
                $false
            } catch {
                $_.FullyQualifiedErrorId -eq 'Amazon.SimpleSystemsManagement.Model.DoesNotExistException,Resume-SSMSession'
            }
        }
    }

    AfterAll {
        Get-Module SSMSession | Remove-Module
        Stop-SSMTestEchoServer -Server $echo
        Stop-SSMEmulator -Emulator $emulator
        Stop-SSMEmulator -Emulator $faulty
        Stop-SSMEmulator -Emulator $stalled
        Get-ChildItem Env: | Where-Object Name -like 'AWS_*' | ForEach-Object { Remove-Item -LiteralPath "Env:$($_.Name)" }
        foreach ($entry in $savedEnvironment.GetEnumerator()) {
            Set-Item -LiteralPath "Env:$($entry.Key)" -Value $entry.Value
        }
    }

    Context 'port forwarding' {
        It 'forwards a piped session with -AsJob: many connections, statistics, Stop() terminates the session' {
            $forward = Start-PortSession | Connect-SSMSession -AsJob
            try {
                $forward.PSObject.TypeNames[0] | Should -Be 'SSMSession.PortForward'
                $forward.Mode | Should -Be 'Multiplexed'
                $forward.LocalAddress | Should -Be '127.0.0.1'
                $forward.LocalPort | Should -BeGreaterThan 0
                $forward.State | Should -Be 'Running'
                foreach ($seed in 1..6) {
                    Test-SSMTestEcho -Port $forward.LocalPort -Length (200000 + $seed * 1000) -Seed $seed | Should -BeTrue
                }
                $statistics = $forward.Statistics
                $statistics.ConnectionsTotal | Should -Be 6
                $statistics.BytesSent | Should -BeGreaterThan 1200000
                $statistics.BytesReceived | Should -BeGreaterThan 1200000
            } finally {
                $forward.Stop()
            }
            $forward.State | Should -Be 'Stopped'
            Test-SessionEnded $forward.SessionId | Should -BeTrue
        }

        It 'lists running forwards with Get-SSMPortForward, which can stop them' {
            $first = Start-PortSession | Connect-SSMSession -AsJob
            $second = Start-PortSession | Connect-SSMSession -AsJob
            try {
                $listed = @(Get-SSMPortForward)
                $listed.SessionId | Should -Contain $first.SessionId
                $listed.SessionId | Should -Contain $second.SessionId
                $one = Get-SSMPortForward -SessionId $first.SessionId
                $one.LocalPort | Should -Be $first.LocalPort
                $one.State | Should -Be 'Running'
                $one.AgentVersion | Should -Be $first.AgentVersion
                $one.AgentVersion | Should -Not -BeNullOrEmpty
                $one.Stop()
                @(Get-SSMPortForward).SessionId | Should -Not -Contain $first.SessionId
                $first.State | Should -Not -Be 'Running'
                Get-SSMPortForward -SessionId 'no-such-*' | Should -BeNullOrEmpty
            } finally {
                $second.Stop()
            }
            Test-SessionEnded $first.SessionId | Should -BeTrue
        }

        It 'starts the session itself with -Target and reuses nothing but the parameters given' {
            $forward = Connect-SSMSession -Target i-0aaa -DocumentName AWS-StartPortForwardingSession -Parameter $portParameters -AsJob @common
            try {
                $forward.SessionId | Should -Match '^emulator-user-'
                Test-SSMTestEcho -Port $forward.LocalPort | Should -BeTrue
            } finally {
                $forward.Stop()
            }
        }

        It 'runs in the foreground until -TimeoutSec, prints the plugin lines and returns the stopped forward' {
            $session = Start-PortSession
            $result = $session | Connect-SSMSession -TimeoutSec 1 -InformationVariable lines -InformationAction SilentlyContinue
            $text = @($lines | ForEach-Object { "$_" })
            $text[0] | Should -Be "Starting session with SessionId: $($session.SessionId)"
            $text[1] | Should -Be "Port $($result.LocalPort) opened for sessionId $($session.SessionId)."
            $text[2] | Should -Be 'Waiting for connections...'
            $text[-1].Trim() | Should -Be "Exiting session with sessionId: $($session.SessionId)."
            $result.State | Should -Be 'Stopped'
            Test-SessionEnded $session.SessionId | Should -BeTrue
        }

        It 'ends the session when the foreground pipeline is stopped, as Ctrl+C does' {
            $session = Start-PortSession
            $runspace = [powershell]::Create()
            $null = $runspace.AddScript({
                    param($ManifestPath, $Session, $Client)
                    Import-Module $ManifestPath
                    $Session | Connect-SSMSession @Client -InformationAction SilentlyContinue
                }).AddArgument($manifestPath).AddArgument($session).AddArgument($common)
            $running = $runspace.BeginInvoke()
            try {
                # Wait until the forward runs, then stop the pipeline (Ctrl+C's mechanism).
                $deadline = [datetime]::UtcNow.AddSeconds(20)
                $open = $false
                while (-not $open -and [datetime]::UtcNow -lt $deadline) {
                    Start-Sleep -Milliseconds 100
                    $open = [bool](Test-ForwardListening -Runspace $runspace)
                }
                $open | Should -BeTrue
                $runspace.Stop()
                $running.IsCompleted | Should -BeTrue
            } finally {
                $runspace.Dispose()
            }
            Test-SessionEnded $session.SessionId | Should -BeTrue
        }

        It 'uses basic mode with an agent too old for multiplexing, one connection after another' {
            $forward = Start-PortSession -Target i-basicagent0001 | Connect-SSMSession -AsJob -ChunkSize 1024
            try {
                $forward.Mode | Should -Be 'Basic'
                Test-SSMTestEcho -Port $forward.LocalPort -Length 50000 -Seed 1 | Should -BeTrue
                Test-SSMTestEcho -Port $forward.LocalPort -Length 30000 -Seed 2 | Should -BeTrue
            } finally {
                $forward.Stop()
            }
        }

        It 'keeps every byte through lost, duplicated and reordered frames and forced reconnects' {
            $faultyClient = $common.Clone()
            $faultyClient.EndpointUrl = $faulty.Url
            $forward = Start-PortSession -Client $faultyClient | Connect-SSMSession -AsJob
            try {
                # The agent closes the socket 700 ms after each (re)open: wait past the first.
                $deadline = [datetime]::UtcNow.AddSeconds(15)
                while ($forward.Statistics.Reconnects -eq 0 -and [datetime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
                Test-SSMTestEcho -Port $forward.LocalPort -Length 4000000 -Seed 9 | Should -BeTrue
                $statistics = $forward.Statistics
                $statistics.Reconnects | Should -BeGreaterThan 0
                $statistics.MessagesResent | Should -BeGreaterThan 0
            } finally {
                $forward.Stop()
            }
        }

        It 'gives up on an agent that stops acknowledging, with an error, in bounded time and memory' {
            $stalledClient = $common.Clone()
            $stalledClient.EndpointUrl = $stalled.Url
            $probe = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
            $probe.Start(); $localPort = $probe.LocalEndpoint.Port; $probe.Stop()
            $session = Start-PortSession -Client $stalledClient
            # The foreground forward runs in its own runspace; this one plays the application.
            $runspace = [powershell]::Create()
            $null = $runspace.AddScript({
                    param($ManifestPath, $Session, $Client, $LocalPort)
                    Import-Module $ManifestPath
                    $Session | Connect-SSMSession @Client -LocalPortNumber $LocalPort -StallTimeoutSec 2 -TimeoutSec 60 -InformationAction SilentlyContinue
                }).AddArgument($manifestPath).AddArgument($session).AddArgument($stalledClient).AddArgument($localPort)
            $block = [byte[]]::new(1MB)
            $process = [System.Diagnostics.Process]::GetCurrentProcess()
            $running = $runspace.BeginInvoke()
            $client = [System.Net.Sockets.TcpClient]::new()
            try {
                $deadline = [datetime]::UtcNow.AddSeconds(20)
                while (-not $client.Connected -and [datetime]::UtcNow -lt $deadline) {
                    try { $client.Connect([System.Net.IPAddress]::Loopback, $localPort) } catch { Start-Sleep -Milliseconds 100 }
                }
                $client.Connected | Should -BeTrue
                # The fault's own clock, not a guess: this agent goes silent 300 ms after its
                # socket opened (before the forward listened); data offered earlier would be
                # acknowledged and counted against the bound below.
                Start-Sleep -Milliseconds 500
                # Offer 256 MB as fast as the forward takes it; it must stop taking. Memory is
                # measured from here: the runspace's import and the forward's start are done.
                [GC]::Collect(); $process.Refresh(); $rssBefore = $process.WorkingSet64
                $watch = [System.Diagnostics.Stopwatch]::StartNew()
                $stream = $client.GetStream()
                $offered = 0
                while ($offered -lt 256MB -and -not $running.IsCompleted) {
                    # A write that waits is back-pressure; one that fails is the forward's end.
                    try {
                        if (-not $stream.WriteAsync($block, 0, $block.Length).Wait(3000)) { break }
                    } catch {
                        break
                    }
                    $offered += $block.Length
                }
                $running.AsyncWaitHandle.WaitOne([TimeSpan]::FromSeconds(15)) | Should -BeTrue
                $elapsed = $watch.Elapsed
                $process.Refresh(); $rssGrowthMB = ($process.WorkingSet64 - $rssBefore) / 1MB
                $result = $runspace.EndInvoke($running)
                Write-Information "stalled agent: offered $offered bytes, ended after $elapsed, RSS +$([math]::Round($rssGrowthMB)) MB" -InformationAction Continue

                $result.State | Should -Be 'Failed'
                # What the forward took: its window and queues, not what was offered (the
                # rest waits in the kernel's socket buffers, which autotuning grows to tens of MB).
                $result.Statistics.BytesSent | Should -BeLessThan 6MB
                $elapsed.TotalSeconds | Should -BeLessThan 10
                $rssGrowthMB | Should -BeLessThan 48
                $runspace.Streams.Error.Count | Should -Be 1
                $runspace.Streams.Error[0].FullyQualifiedErrorId | Should -Be 'SSMSession.DataChannelFailed,Connect-SSMSession'
                $runspace.Streams.Error[0].CategoryInfo.Category | Should -Be 'ConnectionError'
                $runspace.Streams.Error[0].Exception.Message | Should -BeLike '*did not acknowledge data for 2 s*'
            } finally {
                $client.Dispose()
                $runspace.Dispose()
            }
            Test-SessionEnded $session.SessionId -Client $stalledClient | Should -BeTrue
        }

        It 'ends with the service''s channel_closed message when Stop-SSMSession terminates the session' {
            $forward = Start-PortSession | Connect-SSMSession -AsJob
            Stop-SSMSession -SessionId $forward.SessionId -Force @common | Should -Be $forward.SessionId
            $forward.Wait(10) | Should -BeTrue
            $forward.State | Should -Be 'Closed'
            $forward.Message | Should -Be "Exiting session with sessionId: $($forward.SessionId)."
            $forward.Stop()
        }

        It 'keeps the session open with -KeepSession' {
            $forward = Start-PortSession | Connect-SSMSession -AsJob -KeepSession
            $forward.Stop()
            Test-SessionEnded $forward.SessionId | Should -BeFalse
            Stop-SSMSession $forward.SessionId -Force @common | Out-Null
        }

        It 'counts ConnectToPortError when nothing listens on the target port' {
            $closed = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
            $closed.Start()
            $closedPort = $closed.LocalEndpoint.Port
            $closed.Stop()
            $forward = Start-SSMSession -Target i-1 -DocumentName AWS-StartPortForwardingSession -Parameter @{ portNumber = "$closedPort" } @common |
                Connect-SSMSession -AsJob
            try {
                Test-SSMTestEcho -Port $forward.LocalPort -Length 10 | Should -BeFalse
                $deadline = [datetime]::UtcNow.AddSeconds(5)
                while ($forward.Statistics.ConnectErrors -eq 0 -and [datetime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
                $forward.Statistics.ConnectErrors | Should -BeGreaterThan 0
            } finally {
                $forward.Stop()
            }
        }
    }

    Context 'errors' {
        It 'refuses a piped shell session with a clear error and terminates it' {
            # (-Target without a port document opens a shell instead: Enter-SSMSession.)
            $shell = Start-SSMSession -Target i-1 @common
            { $shell | Connect-SSMSession -AsJob } |
                Should -Throw -ErrorId 'SSMSession.NotAPortSession,Connect-SSMSession' -ExpectedMessage '*not a port forwarding session*'
            { Resume-SSMSession -SessionId $shell.SessionId -Force @common } |
                Should -Throw -ErrorId 'Amazon.SimpleSystemsManagement.Model.DoesNotExistException,Resume-SSMSession'
        }

        It 'reports a local port in use as SSMSession.LocalPortUnavailable' {
            $busy = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
            $busy.Start()
            try {
                $session = Start-PortSession
                { $session | Connect-SSMSession -LocalPortNumber $busy.LocalEndpoint.Port -AsJob } |
                    Should -Throw -ErrorId 'SSMSession.LocalPortUnavailable,Connect-SSMSession'
                Test-SessionEnded $session.SessionId | Should -BeTrue
            } finally {
                $busy.Stop()
            }
        }

        It 'rejects a stale token' {
            $session = Start-PortSession
            { Connect-SSMSession -SessionId $session.SessionId -StreamUrl $session.StreamUrl -TokenValue 'stale' -AsJob @common } |
                Should -Throw -ErrorId 'SSMSession.DataChannelClosed,Connect-SSMSession' -ExpectedMessage '*token may be stale*'
        }
    }

    Context 'Stop-SSMSession and Resume-SSMSession' {
        It 'resumes with a new token and outputs the ResumeSessionResponse' {
            $session = Start-SSMSession -Target i-1 @common
            $resumed = Resume-SSMSession -SessionId $session.SessionId -Force @common
            $resumed.PSObject.TypeNames[0] | Should -Be 'Amazon.SimpleSystemsManagement.Model.ResumeSessionResponse'
            $resumed.SessionId | Should -Be $session.SessionId
            $resumed.TokenValue | Should -Not -Be $session.TokenValue
            $resumed.StreamUrl | Should -BeLike "*$($session.SessionId)*"
            $resumed.HttpStatusCode | Should -Be ([System.Net.HttpStatusCode]::OK)
            $session.SessionId | Resume-SSMSession -Select TokenValue -Force @common | Should -Match '^[0-9a-f]{192}$'
        }

        It 'stops piped sessions and outputs their ids; -Select * gives the response' {
            $sessions = 1..2 | ForEach-Object { Start-SSMSession -Target "i-$_" @common }
            $ids = $sessions | Stop-SSMSession -Force @common
            $ids | Should -Be @($sessions.SessionId)
            $sessions | ForEach-Object { Test-SessionEnded $_.SessionId | Should -BeTrue }
            $response = Start-SSMSession -Target i-3 @common | Stop-SSMSession -Select '*' -Force @common
            $response.PSObject.TypeNames[0] | Should -Be 'Amazon.SimpleSystemsManagement.Model.TerminateSessionResponse'
        }

        It 'does nothing with -WhatIf' {
            $session = Start-SSMSession -Target i-1 @common
            Stop-SSMSession -SessionId $session.SessionId -WhatIf @common | Should -BeNullOrEmpty
            Test-SessionEnded $session.SessionId | Should -BeFalse
        }
    }

    Context 'diagnostics' {
        It 'logs connections and handshakes to SSMSESSION_LOG_FILE, never keys, tokens or forwarded bytes' {
            $logFile = Join-Path (Get-PSDrive TestDrive).Root 'native.log'
            $script = {
                param($ManifestPath, $Url, $Port, $EchoModule)
                $ErrorActionPreference = 'Stop'
                Import-Module $ManifestPath
                Import-Module $EchoModule
                $common = @{ Region = 'eu-west-3'; EndpointUrl = $Url; AccessKey = 'AKIDSSMEMULATOR'; SecretKey = 'ssm-emulator-secret-key' }
                $session = Start-SSMSession -Target i-1 -DocumentName AWS-StartPortForwardingSession -Parameter @{ portNumber = "$Port" } @common
                $forward = $session | Connect-SSMSession -AsJob
                $null = Test-SSMTestEcho -Port $forward.LocalPort -Length 4096 -Seed 77
                $forward.Stop()
                $session.TokenValue
            }
            $pwsh = Join-Path $PSHOME $(if ($IsWindows) { 'pwsh.exe' } else { 'pwsh' })
            $env:SSMSESSION_LOG = 'debug'
            $env:SSMSESSION_LOG_FILE = $logFile
            try {
                $token = & $pwsh -NoProfile -NonInteractive -Command $script -args $manifestPath, $emulator.Url, $echo.Port, ([System.IO.Path]::Combine($PSScriptRoot, 'Support', 'EchoServer.psm1'))
            } finally {
                Remove-Item Env:SSMSESSION_LOG, Env:SSMSESSION_LOG_FILE
            }
            $LASTEXITCODE | Should -Be 0
            $log = Get-Content -LiteralPath $logFile -Raw
            $log | Should -Match 'opening the data channel'
            $log | Should -Match 'handshake complete'
            $log | Should -Match 'stopping the session'
            "$token".Trim().Length | Should -Be 192
            $log | Should -Not -Match "$("$token".Trim())"
            $log | Should -Not -Match 'ssm-emulator-secret-key'
            $log | Should -Not -Match 'X-Amz-Signature|Authorization'
        }
    }

    Context 'module lifetime' {
        It 'stops running forwards and terminates their sessions when the module is removed, and forwards again once re-imported' {
            $forward = Start-PortSession | Connect-SSMSession -AsJob
            $sessionId = $forward.SessionId
            Remove-Module SSMSession
            Import-Module $manifestPath -Force
            Test-SessionEnded $sessionId | Should -BeTrue
            $again = Start-PortSession | Connect-SSMSession -AsJob
            try {
                Test-SSMTestEcho -Port $again.LocalPort -Length 100000 -Seed 21 | Should -BeTrue
            } finally {
                $again.Stop()
            }
        }
    }

    Context 'shutdown' {
        It 'terminates the session of a running forward when pwsh exits, and the process ends' {
            $pwshPath = Join-Path $PSHOME $(if ($IsWindows) { 'pwsh.exe' } else { 'pwsh' })
            $script = @'
$ErrorActionPreference = 'Stop'
Import-Module '__MANIFEST__'
$client = @{ Region = 'eu-west-3'; EndpointUrl = '__URL__'; AccessKey = 'AKIDSSMEMULATOR'; SecretKey = 'ssm-emulator-secret-key' }
$forward = Start-SSMSession -Target i-064578e5e7454488f -DocumentName AWS-StartPortForwardingSession -Parameter @{ portNumber = '__PORT__'; localPortNumber = '0' } @client | Connect-SSMSession -AsJob
$forward.SessionId
'@.Replace('__MANIFEST__', $manifestPath).Replace('__URL__', $emulator.Url).Replace('__PORT__', "$($echo.Port)")
            $startInfo = [System.Diagnostics.ProcessStartInfo]::new($pwshPath)
            foreach ($argument in '-NoProfile', '-NonInteractive', '-Command', $script) { $startInfo.ArgumentList.Add($argument) }
            $startInfo.RedirectStandardOutput = $true
            $startInfo.RedirectStandardError = $true
            $process = [System.Diagnostics.Process]::Start($startInfo)
            try {
                $sessionId = $process.StandardOutput.ReadLine()
                # A hang detector, not a timing: a forward's threads must not keep pwsh alive.
                $process.WaitForExit(60000) | Should -BeTrue -Because "pwsh must exit; stderr: $($process.StandardError.ReadToEnd())"
                $process.ExitCode | Should -Be 0
                $sessionId | Should -BeLike 'emulator-user-*'
                Test-SessionEnded $sessionId | Should -BeTrue
            } finally {
                if (-not $process.HasExited) { $process.Kill($true) }
            }
        }

        It 'closes a runspace with a call in flight without hanging, and pwsh stays usable' {
            $runspace = [runspacefactory]::CreateRunspace()
            $runspace.Open()
            $shell = [powershell]::Create($runspace)
            $null = $shell.AddScript({
                    param($Manifest, $Client)
                    Import-Module $Manifest
                    Start-SSMSession -Target i-delay-20000 @Client
                }).AddArgument($manifestPath).AddArgument($common)
            $inFlight = { (Invoke-RestMethod "$($emulator.Url)/emulator/in-flight" -NoProxy).ApiCallsInFlight }
            $before = & $inFlight
            $pending = $shell.BeginInvoke()
            # Closed once the call is at the emulator, which answers i-delay-20000 after 20 s.
            $deadline = [datetime]::UtcNow.AddSeconds(30)
            while ((& $inFlight) -le $before -and [datetime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
            & $inFlight | Should -BeGreaterThan $before -Because 'the call reached the emulator'
            $pending.IsCompleted | Should -BeFalse -Because 'the emulator answers i-delay-20000 after 20 s'
            $runspace.CloseAsync()
            # A hang detector: the 20 s call is abandoned, not waited for.
            $deadline = [datetime]::UtcNow.AddSeconds(15)
            while ($runspace.RunspaceStateInfo.State -notin 'Closed', 'Broken' -and [datetime]::UtcNow -lt $deadline) {
                Start-Sleep -Milliseconds 50
            }
            $runspace.RunspaceStateInfo.State | Should -BeIn 'Closed', 'Broken'
            $shell.Dispose()
            $runspace.Dispose()
            (Start-SSMSession -Target i-1 @common).SessionId | Should -BeLike 'emulator-user-*'
        }
    }
}
