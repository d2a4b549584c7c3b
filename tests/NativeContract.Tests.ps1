#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }

# The module and the native library speak one JSON contract (rust/ssmsession-ffi/src/
# contract.rs). These fail when the two sides drift apart: an operation or an error kind
# known on one side only, or a library of another contract version.

Describe 'The native contract' {
    BeforeAll {
        $repositoryRoot = Split-Path $PSScriptRoot -Parent
        $manifestPath = $(if ($env:SSMSESSION_TEST_MANIFEST) { $env:SSMSESSION_TEST_MANIFEST } else { Join-Path $repositoryRoot 'SSMSession.psd1' })
        Import-Module $manifestPath -Force
        $described = InModuleScope SSMSession { Invoke-SSMOperation -Operation DescribeContract -Request @{} }
    }

    It 'is described by the library' {
        $described.Ok | Should -BeTrue
        $described.Data.LibraryVersion | Should -Be (Import-PowerShellDataFile -LiteralPath $manifestPath).ModuleVersion
    }

    It 'has the version the module speaks' {
        $expected = InModuleScope SSMSession { $script:SSMAbiVersion }
        $described.Data.AbiVersion | Should -Be $expected
    }

    It 'lists exactly the operations the module can ask for' {
        $validSet = InModuleScope SSMSession {
            (Get-Command Invoke-SSMOperation).Parameters['Operation'].Attributes |
                Where-Object { $_ -is [System.Management.Automation.ValidateSetAttribute] } |
                ForEach-Object ValidValues
        }
        @($validSet | Sort-Object) | Should -Be @($described.Data.Operations | Sort-Object)
    }

    It 'lists exactly the error kinds the module turns into ErrorRecords' {
        $known = InModuleScope SSMSession { $script:SSMErrorKinds.Keys }
        @($known | Sort-Object) | Should -Be @($described.Data.ErrorKinds | Sort-Object)
    }

    It "runs the documented example of calling start_session from Python (docs/native-abi.md)" -Skip:($IsWindows -or -not (Get-Command python3 -ErrorAction SilentlyContinue)) {
        $page = Get-Content -Raw -LiteralPath (Join-Path $repositoryRoot 'docs/native-abi.md')
        $block = [regex]::Match($page, '(?s)<!-- native-example -->\r?\n```python\r?\n(.*?)```')
        $block.Success | Should -BeTrue -Because 'docs/native-abi.md keeps its example under the marker'
        $script = Join-Path ([System.IO.Path]::GetTempPath()) "ssmsession-native-example-$PID.py"
        Set-Content -LiteralPath $script -Value $block.Groups[1].Value
        $library = InModuleScope SSMSession { Get-SSMNativeLibraryPath -ModuleRoot $script:SSMModuleRoot }
        $emulator = Start-SSMSessionEmulator
        $saved = $env:SSMSESSION_LIBRARY, $env:SSM_ENDPOINT
        try {
            $env:SSMSESSION_LIBRARY = $library
            $env:SSM_ENDPOINT = $emulator.Url
            $output = & python3 $script 2>&1
            $LASTEXITCODE | Should -Be 0 -Because "$output"
        } finally {
            $env:SSMSESSION_LIBRARY, $env:SSM_ENDPOINT = $saved
            $emulator.Stop()
            Remove-Item -LiteralPath $script -ErrorAction SilentlyContinue
        }
        "$output" | Should -Match '^emulator-user-[0-9a-f]{17}$'
    }

    It 'refuses a library of another contract version by name, with both versions' {
        $failure = InModuleScope SSMSession {
            try { Assert-SSMNativeAbiVersion -Found 1 -LibraryPath '/opt/old/libssmsession.so'; $null } catch { $_ }
        }
        $failure | Should -Not -BeNullOrEmpty
        $failure.FullyQualifiedErrorId | Should -Be 'SSMSession.NativeLibraryMismatch'
        $failure.Exception.Message | Should -BeLike "*'/opt/old/libssmsession.so' speaks version 1*needs version $($described.Data.AbiVersion)*"
    }
}
