#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }

# The help examples that can run here do: every example that starts the local emulator runs
# as written, and fails the test on any error. (Enter-SSMSession's needs a terminal: the
# terminal tests run that path. The others name real instances, profiles or proxies.)

BeforeDiscovery {
    $manifestPath = $(if ($env:SSMSESSION_TEST_MANIFEST) { $env:SSMSESSION_TEST_MANIFEST } else { Join-Path (Split-Path $PSScriptRoot -Parent) 'SSMSession.psd1' })
    Import-Module $manifestPath -Force
    $runnable = foreach ($command in Get-Command -Module SSMSession | Sort-Object Name) {
        if ($command.Name -eq 'Enter-SSMSession') { continue }
        $number = 0
        foreach ($example in @((Get-Help $command.Name -Examples).examples.example)) {
            $number++
            $code = [string]$example.code
            if ($code -match 'Start-SSMSessionEmulator') {
                @{ Command = $command.Name; Number = $number; Code = $code }
            }
        }
    }
    $withAnExample = @($runnable | ForEach-Object { $_.Command } | Sort-Object -Unique)
    $sessionCommands = foreach ($name in 'Connect-SSMSession', 'Get-SSMPortForward', 'Invoke-SSMSessionCommand', 'Resume-SSMSession', 'Start-SSMSessionEmulator', 'Stop-SSMSession') {
        @{ Command = $name; Covered = $withAnExample -contains $name }
    }
}

Describe 'Help examples against the local emulator' -Skip:$IsWindows {
    BeforeAll {
        $manifestPath = $(if ($env:SSMSESSION_TEST_MANIFEST) { $env:SSMSESSION_TEST_MANIFEST } else { Join-Path (Split-Path $PSScriptRoot -Parent) 'SSMSession.psd1' })
        Import-Module $manifestPath -Force
        $savedMetadata = $env:AWS_EC2_METADATA_DISABLED
        $env:AWS_EC2_METADATA_DISABLED = 'true'
    }

    AfterAll {
        Get-SSMPortForward | ForEach-Object { $_.Stop() }
        $env:AWS_EC2_METADATA_DISABLED = $savedMetadata
    }

    It 'has an example on the emulator for <Command>' -ForEach $sessionCommands {
        $Covered | Should -BeTrue -Because 'each command that talks to a session shows it once on the emulator'
    }

    It 'runs <Command> example <Number> without an error' -ForEach $runnable {
        $failures = [System.Collections.Generic.List[object]]::new()
        $output = & {
            $ErrorActionPreference = 'Stop'
            try {
                . ([scriptblock]::Create($Code))
            } catch {
                $failures.Add($_)
            } finally {
                # An example may leave its emulator running (the module's own cleanup would
                # stop it with pwsh); the test does not.
                Get-Variable -Scope 0 | Where-Object { $_.Value -is [psobject] -and $_.Value.PSObject.TypeNames -contains 'SSMSession.Emulator' } |
                    ForEach-Object { $_.Value.Stop() }
            }
        } 2>&1
        $errors = @($output | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] }) + @($failures)
        $errors | Should -BeNullOrEmpty -Because "the example runs as written:`n$Code"
        Get-SSMPortForward | Where-Object State -eq 'Running' | Should -BeNullOrEmpty -Because 'an example stops the forwards it starts'
    }
}
