#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }

# Interactive sessions in a real terminal: a pwsh running Enter-SSMSession, or the drop-in
# session-manager-plugin binary, inside tmux (a pseudo-terminal this test types into and
# reads from), attached to a shell the emulator's agent runs under its own pseudo-terminal
# on this machine. The test types commands, reads their output, resizes the terminal,
# interrupts with Ctrl+C, leaves with ~., and checks that the terminal settings afterwards
# are the ones from before. Loopback only.

Describe 'Interactive sessions in a terminal (Enter-SSMSession, the plugin binary), against the local emulator' -Skip:$IsWindows {
    BeforeAll {
        $repositoryRoot = Split-Path $PSScriptRoot -Parent
        $manifestPath = $(if ($env:SSMSESSION_TEST_MANIFEST) { $env:SSMSESSION_TEST_MANIFEST } else { Join-Path $repositoryRoot 'SSMSession.psd1' })
        Import-Module $manifestPath -Force
        $savedMetadata = $env:AWS_EC2_METADATA_DISABLED
        $env:AWS_EC2_METADATA_DISABLED = 'true'
        if (-not (Get-Command tmux -CommandType Application -ErrorAction SilentlyContinue)) {
            throw 'These tests need tmux (apt-get install tmux); .ci/run installs it.'
        }
        # A plain sh: no rc files, a predictable prompt.
        $emulator = Start-SSMSessionEmulator -ArgumentList '--shell', 'sh'
        $kmsEmulator = Start-SSMSessionEmulator -ArgumentList '--shell', 'sh', '--kms-key-id', 'alias/ssm-sessions'
        $work = Join-Path ([System.IO.Path]::GetTempPath()) "ssmsession-terminal-$PID"
        $null = New-Item -ItemType Directory -Path $work -Force
        # Our own tmux server, so that nothing of the user's is touched.
        $socket = "ssmsession-test-$PID"
        $pwsh = Join-Path $PSHOME 'pwsh'
        $plugin = [System.IO.Path]::Combine((Split-Path $manifestPath -Parent), 'runtimes', 'linux-x64', 'native', 'session-manager-plugin')

        function Invoke-Tmux {
            & tmux -L $socket @args
            if ($LASTEXITCODE -ne 0) { throw "tmux $args failed ($LASTEXITCODE)" }
        }

        # Starts a pwsh in a 100×30 terminal that enters a session with these parameters
        # and writes the result and the terminal settings before and after to files.
        function Start-TerminalSession([string] $Name, [hashtable] $Parameters) {
            $script = Join-Path $work "$Name.ps1"
            $parametersFile = Join-Path $work "$Name.parameters.json"
            $Parameters | ConvertTo-Json | Set-Content -Path $parametersFile
            @"
`$ErrorActionPreference = 'Stop'
`$env:AWS_EC2_METADATA_DISABLED = 'true'
Import-Module '$manifestPath'
`$p = @{}
(Get-Content -Raw '$parametersFile' | ConvertFrom-Json).PSObject.Properties | ForEach-Object { `$p[`$_.Name] = `$_.Value }
`$before = stty -g
try {
    `$result = Enter-SSMSession -Target i-0123456789abcdef0 @p -PassThru
    `$after = stty -g
    # Written whole, then renamed: the test never reads half a file.
    [pscustomobject]@{ Result = `$result; Before = `$before; After = `$after } | ConvertTo-Json | Set-Content '$work/$Name.result.json.partial'
    Move-Item '$work/$Name.result.json.partial' '$work/$Name.result.json'
} catch {
    "`$_" | Set-Content '$work/$Name.error.txt'
}
"@ | Set-Content -Path $script
            Invoke-Tmux new-session -d -s $Name -x 100 -y 30 "$pwsh -NoLogo -NoProfile -File $script; sleep 600"
        }

        function Get-Screen([string] $Name) {
            (& tmux -L $socket capture-pane -t $Name -p -S -200) -join "`n"
        }

        # Waits until the terminal shows text matching $Pattern.
        function Wait-Screen([string] $Name, [string] $Pattern, [int] $Seconds = 30) {
            $deadline = [datetime]::UtcNow.AddSeconds($Seconds)
            while ([datetime]::UtcNow -lt $deadline) {
                $screen = Get-Screen $Name
                if ($screen -match $Pattern) { return $screen }
                $failed = Join-Path $work "$Name.error.txt"
                if (Test-Path $failed) { throw "Enter-SSMSession failed: $(Get-Content -Raw $failed)" }
                Start-Sleep -Milliseconds 100
            }
            throw "The terminal never showed '$Pattern'. It shows:`n$(Get-Screen $Name)"
        }

        # Types `stty size` until the remote terminal reports $Rows $Columns: the client
        # notices a resize on its next poll, and only then tells the agent.
        function Wait-RemoteSize([string] $Name, [int] $Rows, [int] $Columns, [int] $Seconds = 30) {
            $deadline = [datetime]::UtcNow.AddSeconds($Seconds)
            $attempt = 0
            while ([datetime]::UtcNow -lt $deadline) {
                $attempt++
                # The marker tells this attempt's answer from earlier ones.
                Invoke-Tmux send-keys -t $Name "echo size-$attempt-`$(stty size | tr ' ' x)" Enter
                $answer = Wait-Screen $Name "size-$attempt-(\d+x\d+)\s" -Seconds 10
                if ($answer -match "size-$attempt-$($Rows)x$($Columns)\s") { return }
            }
            throw "The remote terminal never reported $Rows rows and $Columns columns. It shows:`n$(Get-Screen $Name)"
        }

        function Wait-Result([string] $Name, [int] $Seconds = 30) {
            $file = Join-Path $work "$Name.result.json"
            $deadline = [datetime]::UtcNow.AddSeconds($Seconds)
            while (-not (Test-Path $file) -and [datetime]::UtcNow -lt $deadline) {
                $failed = Join-Path $work "$Name.error.txt"
                if (Test-Path $failed) { throw "Enter-SSMSession failed: $(Get-Content -Raw $failed)" }
                Start-Sleep -Milliseconds 100
            }
            if (-not (Test-Path $file)) { throw "Enter-SSMSession did not return. The terminal shows:`n$(Get-Screen $Name)" }
            Get-Content -Raw $file | ConvertFrom-Json
        }

        # The drop-in plugin as the AWS CLI runs it: the response in the environment
        # variable, the request and endpoint on argv; then its exit code and whether the
        # terminal settings came back.
        function Start-PluginSession([string] $Name, $Emulator, [string] $Document, [hashtable] $Parameter) {
            $p = $Emulator.Parameters
            $start = @{ Target = 'i-0123456789abcdef0' }
            if ($Document) { $start.DocumentName = $Document; $start.Parameter = $Parameter }
            $started = Start-SSMSession @start @p
            $response = @{ SessionId = $started.SessionId; TokenValue = $started.TokenValue; StreamUrl = $started.StreamUrl } | ConvertTo-Json -Compress
            $request = @{ Target = 'i-0123456789abcdef0'; DocumentName = $Document } | ConvertTo-Json -Compress
            $script = Join-Path $work "$Name.sh"
            $responseFile = Join-Path $work "$Name.response.json"
            Set-Content -Path $responseFile -Value $response -NoNewline
            @"
before=`$(stty -g)
export AWS_SSM_START_SESSION_RESPONSE="`$(cat '$responseFile')"
AWS_ACCESS_KEY_ID='$($p.AccessKey)' AWS_SECRET_ACCESS_KEY='$($p.SecretKey)' AWS_EC2_METADATA_DISABLED=true '$plugin' AWS_SSM_START_SESSION_RESPONSE '$($p.Region)' StartSession '' '$request' '$($p.EndpointUrl)'
code=`$?
[ "`$before" = "`$(stty -g)" ] && restored=yes || restored=no
echo "plugin-exit=`$code restored=`$restored"
sleep 600
"@ | Set-Content -Path $script
            Invoke-Tmux new-session -d -s $Name -x 100 -y 30 "sh $script"
            $started.SessionId
        }

        function Test-SessionEnded([string] $SessionId, [hashtable] $Parameters) {
            try {
                $null = Resume-SSMSession -SessionId $SessionId -Force @Parameters
                $false
            } catch {
                $_.FullyQualifiedErrorId -eq 'Amazon.SimpleSystemsManagement.Model.DoesNotExistException,Resume-SSMSession'
            }
        }
    }

    AfterAll {
        & tmux -L $socket kill-server 2>$null
        $emulator.Stop()
        $kmsEmulator.Stop()
        Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
        Get-Module SSMSession | Remove-Module
        $env:AWS_EC2_METADATA_DISABLED = $savedMetadata
    }

    It 'runs what is typed, follows resizes, forwards Ctrl+C, and restores the terminal when the shell exits' {
        Start-TerminalSession -Name plain -Parameters $emulator.Parameters
        Wait-Screen plain 'Starting session with SessionId: emulator-user-\S+\s+[#$]' | Out-Null

        # Computed remotely: the echo of the typed line cannot match.
        Invoke-Tmux send-keys -t plain 'echo sum=$((40+2)); stty size' Enter
        Wait-Screen plain 'sum=42\s+30 100' | Out-Null

        Invoke-Tmux resize-window -t plain -x 120 -y 40
        Wait-RemoteSize plain -Rows 40 -Columns 120

        # Ctrl+C reaches the remote terminal and interrupts sleep; pwsh is not interrupted.
        Invoke-Tmux send-keys -t plain 'echo sleeping-$((1+1)); sleep 30; echo slept-$((1+1))' Enter
        Wait-Screen plain 'sleeping-2' | Out-Null
        Invoke-Tmux send-keys -t plain C-c
        Invoke-Tmux send-keys -t plain 'echo after-$((6*7))' Enter
        $screen = Wait-Screen plain 'after-42'
        $screen | Should -Not -Match 'slept-2'

        # UTF-8 both ways.
        Invoke-Tmux send-keys -t plain -l 'echo "été-€-$((2*3))"'
        Invoke-Tmux send-keys -t plain Enter
        Wait-Screen plain 'été-€-6' | Out-Null

        Invoke-Tmux send-keys -t plain 'exit' Enter
        $outcome = Wait-Result plain
        $outcome.Result.State | Should -Be 'Closed'
        $outcome.Result.Escaped | Should -BeFalse
        $outcome.After | Should -Be $outcome.Before
        Wait-Screen plain "Exiting session with sessionId: $([regex]::Escape($outcome.Result.SessionId))\." | Out-Null
    }

    It 'leaves a hung session with ~. after Enter, terminates it, and restores the terminal' {
        Start-TerminalSession -Name escape -Parameters $emulator.Parameters
        Wait-Screen escape 'Starting session with SessionId: emulator-user-\S+\s+[#$]' | Out-Null
        # A ~ inside a line is typed as it is.
        Invoke-Tmux send-keys -t escape -l 'echo a~.b'
        Invoke-Tmux send-keys -t escape Enter
        Wait-Screen escape 'a~\.b\s+[#$]' | Out-Null
        Invoke-Tmux send-keys -t escape 'echo hung-$((1+1)); sleep 100' Enter
        Wait-Screen escape 'hung-2' | Out-Null
        Invoke-Tmux send-keys -t escape Enter
        Invoke-Tmux send-keys -t escape -l '~.'
        $outcome = Wait-Result escape
        $outcome.Result.Escaped | Should -BeTrue
        $outcome.Result.State | Should -Be 'Stopped'
        $outcome.After | Should -Be $outcome.Before
        Test-SessionEnded $outcome.Result.SessionId $emulator.Parameters | Should -BeTrue
    }

    It 'runs a KMS-encrypted shell, encrypted both ways' {
        Start-TerminalSession -Name kms -Parameters $kmsEmulator.Parameters
        Wait-Screen kms 'This session is encrypted using AWS KMS\.' | Out-Null
        # The agent runs this only if it could decrypt the keys; we read it only if we
        # could decrypt its output.
        Invoke-Tmux send-keys -t kms 'echo secret-$((6*7))' Enter
        Wait-Screen kms 'secret-42' | Out-Null
        Invoke-Tmux send-keys -t kms 'exit' Enter
        $outcome = Wait-Result kms
        $outcome.Result.State | Should -Be 'Closed'
        $outcome.After | Should -Be $outcome.Before
    }

    It 'runs an interactive command under a terminal with -Command' {
        Start-TerminalSession -Name command -Parameters ($emulator.Parameters + @{ Command = 'read answer; echo got-$answer-$((1+2))' })
        Wait-Screen command 'Starting session with SessionId' | Out-Null
        Invoke-Tmux send-keys -t command 'yes' Enter
        Wait-Screen command 'got-yes-3' | Out-Null
        $outcome = Wait-Result command
        $outcome.Result.State | Should -Be 'Closed'
    }

    It 'runs a shell through the drop-in session-manager-plugin binary in a terminal' {
        $sessionId = Start-PluginSession -Name plugin -Emulator $emulator
        Wait-Screen plugin "Starting session with SessionId: $sessionId\s+[#$]" | Out-Null
        Invoke-Tmux send-keys -t plugin 'echo via-plugin-$((6*7)); stty size' Enter
        Wait-Screen plugin 'via-plugin-42\s+30 100' | Out-Null
        Invoke-Tmux resize-window -t plugin -x 110 -y 35
        Wait-RemoteSize plugin -Rows 35 -Columns 110
        Invoke-Tmux send-keys -t plugin 'exit' Enter
        # The wrapper's last line comes once the plugin has exited.
        Wait-Screen plugin 'plugin-exit=\d+ restored=\w+' | Should -Match "Exiting session with sessionId: $sessionId\.\s+plugin-exit=0 restored=yes"
    }

    It 'runs a KMS-encrypted shell through the plugin binary' {
        $sessionId = Start-PluginSession -Name pluginkms -Emulator $kmsEmulator
        Wait-Screen pluginkms 'This session is encrypted using AWS KMS\.' | Out-Null
        Invoke-Tmux send-keys -t pluginkms 'echo kms-$((6*7))' Enter
        Wait-Screen pluginkms 'kms-42' | Out-Null
        # ~. leaves it too: the plugin then exits 0 and the terminal is restored.
        Invoke-Tmux send-keys -t pluginkms 'echo hung-$((1+1)); sleep 100' Enter
        Wait-Screen pluginkms 'hung-2' | Out-Null
        Invoke-Tmux send-keys -t pluginkms Enter
        Invoke-Tmux send-keys -t pluginkms -l '~.'
        Wait-Screen pluginkms 'plugin-exit=\d+ restored=\w+' | Should -Match 'plugin-exit=0 restored=yes'
        Test-SessionEnded $sessionId $kmsEmulator.Parameters | Should -BeTrue
    }

    It 'resumes a shell through the plugin binary when the service closes its socket, losing nothing typed or printed' {
        # Every data-channel socket of this emulator closes 3 s after it opened, as the
        # service closes idle or hourly sockets: the plugin must resume the session.
        $resumeEmulator = Start-SSMSessionEmulator -ArgumentList '--shell', 'sh', '--fault-close-after-ms', '3000'
        try {
            $sessionId = Start-PluginSession -Name pluginresume -Emulator $resumeEmulator
            Wait-Screen pluginresume "Starting session with SessionId: $sessionId\s+[#$]" | Out-Null
            # The ticks come over at least two sockets.
            Invoke-Tmux send-keys -t pluginresume 'for i in 1 2 3 4 5; do sleep 1; echo tick-$((i*10)); done' Enter
            Wait-Screen pluginresume 'tick-10\s+tick-20\s+tick-30\s+tick-40\s+tick-50' | Out-Null
            Invoke-Tmux send-keys -t pluginresume 'echo typed-after-$((6*7))' Enter
            Wait-Screen pluginresume 'typed-after-42' | Out-Null
            Invoke-Tmux send-keys -t pluginresume 'exit' Enter
            $screen = Wait-Screen pluginresume 'plugin-exit=\d+ restored=\w+'
            $screen | Should -Match 'tick-10\s+tick-20\s+tick-30\s+tick-40\s+tick-50'
            $screen | Should -Match "Exiting session with sessionId: $sessionId\.\s+plugin-exit=0 restored=yes"
        } finally {
            $resumeEmulator.Stop()
        }
    }

    It 'runs a command line through the plugin binary without a shell, as the agent does, and exits 0 as AWS''s plugin' {
        $null = Start-PluginSession -Name plugincommand -Emulator $emulator -Document 'AWS-StartNonInteractiveCommand' -Parameter @{ command = 'echo ran; exit 4' }
        # echo got "ran;", "exit" and "4" as its words; no exit code comes without separate output.
        Wait-Screen plugincommand 'plugin-exit=\d+ restored=\w+' | Should -Match 'ran; exit 4\s+(.|\n)*plugin-exit=0 restored=yes'
    }

    It 'ends the remote shell at the end of standard input instead of waiting (stdin from /dev/null)' {
        $script = Join-Path $work 'devnull.ps1'
        $parametersFile = Join-Path $work 'devnull.parameters.json'
        $emulator.Parameters | ConvertTo-Json | Set-Content -Path $parametersFile
        @"
`$ErrorActionPreference = 'Stop'
`$env:AWS_EC2_METADATA_DISABLED = 'true'
Import-Module '$manifestPath'
`$p = @{}
(Get-Content -Raw '$parametersFile' | ConvertFrom-Json).PSObject.Properties | ForEach-Object { `$p[`$_.Name] = `$_.Value }
Enter-SSMSession -Target i-0123456789abcdef0 @p -PassThru | ConvertTo-Json | Set-Content '$work/devnull.result.json'
"@ | Set-Content -Path $script
        $start = [System.Diagnostics.ProcessStartInfo]::new('sh')
        $start.ArgumentList.Add('-c')
        $start.ArgumentList.Add("'$pwsh' -NoProfile -NonInteractive -File '$script' < /dev/null > '$work/devnull.out' 2>&1")
        $process = [System.Diagnostics.Process]::Start($start)
        $finished = $process.WaitForExit(30000)
        if (-not $finished) { $process.Kill($true) }
        $finished | Should -BeTrue -Because "Enter-SSMSession must not wait for keys that never come: $(Get-Content -Raw "$work/devnull.out" -ErrorAction SilentlyContinue)"
        $result = Get-Content -Raw "$work/devnull.result.json" | ConvertFrom-Json
        $result.State | Should -Be 'Closed'
        $result.Escaped | Should -BeFalse
    }
}
