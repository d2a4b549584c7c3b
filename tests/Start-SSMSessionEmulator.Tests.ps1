#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }

# Start-SSMSessionEmulator: the emulator that ships in the module folder, as a user starts
# it (no repository, no test helpers). Loopback only.

Describe 'Start-SSMSessionEmulator' {
    BeforeAll {
        $repositoryRoot = Split-Path $PSScriptRoot -Parent
        $manifestPath = $(if ($env:SSMSESSION_TEST_MANIFEST) { $env:SSMSESSION_TEST_MANIFEST } else { Join-Path $repositoryRoot 'SSMSession.psd1' })
        Import-Module $manifestPath -Force
        $env:AWS_EC2_METADATA_DISABLED = 'true'
    }

    AfterAll {
        Get-Module SSMSession | Remove-Module
    }

    It 'starts an emulator on loopback whose Parameters Start-SSMSession and Connect-SSMSession splat' {
        $emulator = Start-SSMSessionEmulator -Region eu-west-3
        try {
            $emulator.PSObject.TypeNames[0] | Should -Be 'SSMSession.Emulator'
            $emulator.Url | Should -Match '^http://127\.0\.0\.1:\d+$'
            $parameters = $emulator.Parameters
            $session = Start-SSMSession -Target i-0123456789abcdef0 -DocumentName AWS-StartPortForwardingSession `
                -Parameter @{ portNumber = ([uri]$emulator.Url).Port; localPortNumber = '0' } @parameters
            $session.SessionId | Should -BeLike 'emulator-user-*'
            # Through the tunnel to the emulator's own HTTP port: a self-contained demo.
            $tunnel = $session | Connect-SSMSession -AsJob
            try {
                $answer = Invoke-WebRequest -Uri "http://127.0.0.1:$($tunnel.LocalPort)/" -SkipHttpErrorCheck -TimeoutSec 20 -NoProxy
                $answer.StatusCode | Should -BeGreaterThan 0
                $tunnel.Statistics.BytesReceived | Should -BeGreaterThan 0
            } finally {
                $tunnel.Stop()
            }
        } finally {
            $emulator.Stop()
        }
        $emulator.Process.HasExited | Should -BeTrue
    }

    It 'passes extra options to the emulator and reports one it rejects as SSMSession.EmulatorFailed' {
        $failure = { Start-SSMSessionEmulator -ArgumentList '--fault-drop', '7' } |
            Should -Throw -ErrorId 'SSMSession.EmulatorFailed,Start-SSMSessionEmulator' -PassThru
        $failure.Exception.Message | Should -BeLike "*invalid value '7' for '--fault-drop*"
    }

    It 'starts nothing with -WhatIf' {
        Start-SSMSessionEmulator -WhatIf | Should -BeNullOrEmpty
    }

    It 'names the missing file when the module folder has no emulator' {
        $library = InModuleScope SSMSession { Get-SSMNativeLibraryPath -ModuleRoot $script:SSMModuleRoot }
        $fakeRoot = Join-Path $TestDrive 'module'
        $nativeFolder = [System.IO.Path]::Combine($fakeRoot, [System.IO.Path]::GetRelativePath((Split-Path $manifestPath -Parent), (Split-Path $library -Parent)))
        New-Item -ItemType Directory -Force -Path $nativeFolder | Out-Null
        Copy-Item -LiteralPath $library -Destination $nativeFolder
        $saved = InModuleScope SSMSession { $script:SSMModuleRoot }
        try {
            InModuleScope SSMSession -Parameters @{ Root = $fakeRoot } { param($Root) $script:SSMModuleRoot = $Root }
            $failure = { Start-SSMSessionEmulator } | Should -Throw -ErrorId 'SSMSession.EmulatorNotFound,Start-SSMSessionEmulator' -PassThru
            $failure.Exception.Message | Should -BeLike "*$nativeFolder*"
        } finally {
            InModuleScope SSMSession -Parameters @{ Root = $saved } { param($Root) $script:SSMModuleRoot = $Root }
        }
    }
}
