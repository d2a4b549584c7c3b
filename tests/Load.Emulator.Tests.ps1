#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }

# 8 runspaces x 1,000 Start-SSMSession calls at once (ForEach-Object -Parallel), in a fresh
# pwsh, against the emulator: every call answered, every answer for the runspace that asked,
# and the runspaces released afterwards (a leak here kept all of them, with everything they
# held, for the life of the process).

Describe 'Start-SSMSession under parallel load' {
    BeforeAll {
        $repositoryRoot = Split-Path $PSScriptRoot -Parent
        Import-Module ([System.IO.Path]::Combine($PSScriptRoot, 'Support', 'SSMEmulator.psm1')) -Force
        $emulatorPath = if ($env:SSMSESSION_EMULATOR_PATH) { $env:SSMSESSION_EMULATOR_PATH } else { [System.IO.Path]::Combine($repositoryRoot, 'target', 'release', 'ssm-emulator') }
        # One key pair (and so one IAM user, which session ids start with) per runspace.
        $credentials = foreach ($n in 0..7) { '--credential'; "AKIDLOADR${n}:load-secret-${n}:load-r$n" }
        $emulator = Start-SSMEmulator -Path $emulatorPath -ArgumentList $credentials
        $pwshPath = Join-Path $PSHOME $(if ($IsWindows) { 'pwsh.exe' } else { 'pwsh' })
        $loadScript = [System.IO.Path]::Combine($PSScriptRoot, 'Support', 'Invoke-SSMParallelLoad.ps1')
        $output = & $pwshPath -NoProfile -NonInteractive -File $loadScript -ManifestPath $(if ($env:SSMSESSION_TEST_MANIFEST) { $env:SSMSESSION_TEST_MANIFEST } else { Join-Path $repositoryRoot 'SSMSession.psd1' }) `
            -EndpointUrl $emulator.Url -PerRunspace 1000 2>&1
        $exitCode = $LASTEXITCODE
        $report = $output | Select-Object -Last 1 | ConvertFrom-Json
        Write-Information "parallel load: $($output | Select-Object -Last 1)" -InformationAction Continue
    }

    AfterAll {
        Stop-SSMEmulator -Emulator $emulator
    }

    It 'answers every one of the 8,000 calls' {
        $exitCode | Should -Be 0 -Because ($output -join [System.Environment]::NewLine)
        $report.Failures | Should -Be 0
        $report.Calls | Should -Be 8080
        $report.Unique | Should -Be 8080
    }

    It 'gives every runspace only its own sessions (no cross-talk between clients)' {
        $report.Wrong | Should -Be 0
    }

    It 'releases the runspaces once they are done' {
        $report.MeasuredRunspacesAlive | Should -Be 0
    }
}
