#!/usr/bin/env pwsh
<#
.SYNOPSIS
Builds SSMSession, runs its tests, or runs the demo against the local emulator.

.DESCRIPTION
Without switches: builds the Rust workspace (native library, ssm-emulator and the drop-in
session-manager-plugin) and stages them at runtimes/<rid>/native/, so that
Import-Module ./SSMSession.psd1 works from the repository root.

-Test also checks formatting (cargo fmt), lints (cargo clippy -D warnings), runs every
cargo test and every Pester test under tests/, and fails when any of them fails.

On a machine that cannot reach crates.io but has the workplace's vendored crates
(../shared/tools/use-vendored-crates beside the repository), cargo is pointed at them
first. When Pester 5 is not installed, -Test fetches it from NuGet with the dotnet CLI.

-Package builds the installable module folder out/SSMSession/<ModuleVersion>/ (the
manifest, the functions merged into one SSMSession.psm1, the format file, the about_ help
topic, and the native library, emulator and plugin under runtimes/<rid>/native/) from the dist
profile (fat LTO, codegen-units = 1, stripped), and prints their sizes. -Test and
-Benchmark build the same folder from the release build they already made (the benchmarks
measure it; CI compiles the AWS SDK once).

-Demo starts the emulator on a free loopback port, imports the module, runs
Start-SSMSession against it, forwards a local port through the session with
Connect-SSMSession to an echo server on 127.0.0.1, prints the results and stops everything.

.PARAMETER Configuration
Cargo profile: Release (default) or Debug.

.PARAMETER Test
Run all checks and tests after building.

.PARAMETER Package
Build the installable module folder out/SSMSession/<ModuleVersion>/ from the shipping
(dist) build. Copy out/SSMSession onto a $env:PSModulePath folder to install it.

.PARAMETER TestPackage
With -Test: run the Pester suite against the package in out/SSMSession/<ModuleVersion>/
instead of the source tree (with -Package, the shipping build).

.PARAMETER Soak
Run the long reliability runs (tests/Soak/Invoke-SSMSoak.ps1): the C ABI fuzz harness at
100,000 cases per property and again under valgrind, the data channel under faults and the
emulator under load at 20x the CI volume, 20 rounds of 8 x 1,000 parallel calls, and 100
rounds of cancellation and shutdown; writes out/soak/summary.json (~15 minutes).

.PARAMETER Demo
Run the emulator demo after building.

.PARAMETER Benchmark
Run the benchmarks (tests/Benchmark/Invoke-SSMBenchmark.ps1): SSMSession against the AWS
.NET SDK and the plugin's pacing, in the same run; prints a table and writes
out/bench/summary.json. -Test runs them too, in -Quick mode, so they never rot.

.PARAMETER Quick
With -Benchmark: few repetitions and small sizes (a smoke run).

.EXAMPLE
pwsh ./build.ps1 -Demo

.EXAMPLE
pwsh ./build.ps1 -Test

.EXAMPLE
pwsh ./build.ps1 -Benchmark

.EXAMPLE
pwsh ./build.ps1 -Soak
#>
[CmdletBinding()]
param(
    [ValidateSet('Release', 'Debug')]
    [string] $Configuration = 'Release',

    [switch] $Test,

    [switch] $Package,

    [switch] $TestPackage,

    [switch] $Soak,

    [switch] $Demo,

    [switch] $Benchmark,

    [switch] $Quick
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$repositoryRoot = $PSScriptRoot

# Tests and the demo talk to loopback only: no instance metadata, no proxy for loopback.
$env:AWS_EC2_METADATA_DISABLED = 'true'
$env:NO_PROXY = '127.0.0.1,localhost'

function Invoke-Step {
    param(
        [Parameter(Mandatory)] [string] $Name,
        [Parameter(Mandatory)] [string] $File,
        [string[]] $Arguments = @()
    )
    Write-Information "==> $Name" -InformationAction Continue
    & $File @Arguments
    if ($LASTEXITCODE -ne 0) {
        throw "$Name failed (exit code $LASTEXITCODE)."
    }
}

function Initialize-CargoSource {
    # Offline workplaces ship every allowed crate beside the repository; the tool is
    # idempotent and only rewrites its own block in ~/.cargo/config.toml.
    $tool = [System.IO.Path]::Combine($repositoryRoot, '..', 'shared', 'tools', 'use-vendored-crates')
    $cargoHome = if ($env:CARGO_HOME) { $env:CARGO_HOME } else { Join-Path $HOME '.cargo' }
    $cargoConfig = Join-Path $cargoHome 'config.toml'
    $configured = (Test-Path -LiteralPath $cargoConfig) -and
        (Select-String -LiteralPath $cargoConfig -SimpleMatch 'use-vendored-crates' -Quiet)
    if ((Test-Path -LiteralPath $tool) -and -not $configured -and -not $env:SSMSESSION_USE_CRATES_IO) {
        Invoke-Step -Name 'use vendored crates' -File bash -Arguments @($tool)
    }
}

function Get-PesterManifest {
    $installed = Get-Module -ListAvailable -Name Pester |
        Where-Object { $_.Version.Major -eq 5 } |
        Sort-Object Version -Descending |
        Select-Object -First 1
    if ($installed) { return $installed.Path }

    $nugetRoot = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { [System.IO.Path]::Combine($HOME, '.nuget', 'packages') }
    $find = {
        Get-ChildItem -Path ([System.IO.Path]::Combine($nugetRoot, 'pester', '5.*', 'tools', 'Pester.psd1')) -ErrorAction SilentlyContinue |
            Sort-Object { [version]$_.Directory.Parent.Name } -Descending |
            Select-Object -First 1 -ExpandProperty FullName
    }
    $manifest = & $find
    if ($manifest) { return $manifest }

    if (-not (Get-Command dotnet -ErrorAction SilentlyContinue)) {
        throw 'Pester 5 was not found. Install it with: Install-Module Pester -MinimumVersion 5.0 -Scope CurrentUser'
    }
    # The NuGet package keeps the module under tools/; a throwaway project downloads it.
    $scratch = Join-Path ([System.IO.Path]::GetTempPath()) "ssmsession-pester-$PID"
    New-Item -ItemType Directory -Force -Path $scratch | Out-Null
    try {
        Set-Content -LiteralPath (Join-Path $scratch 'fetch.csproj') -Value @'
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>net8.0</TargetFramework></PropertyGroup>
  <ItemGroup><PackageDownload Include="Pester" Version="[5.7.1]" /></ItemGroup>
</Project>
'@
        Invoke-Step -Name 'fetch Pester 5.7.1 from NuGet' -File dotnet -Arguments @('restore', (Join-Path $scratch 'fetch.csproj'), '--verbosity', 'quiet')
    } finally {
        Remove-Item -LiteralPath $scratch -Recurse -Force -ErrorAction SilentlyContinue
    }
    $manifest = & $find
    if (-not $manifest) { throw "Pester was downloaded but not found under $nugetRoot." }
    $manifest
}

function Get-RuntimeId {
    $architecture = switch ([System.Runtime.InteropServices.RuntimeInformation]::ProcessArchitecture) {
        'X64' { 'x64' }
        'Arm64' { 'arm64' }
        default { $_.ToString().ToLowerInvariant() }
    }
    $os = if ($IsWindows) { 'win' } elseif ($IsMacOS) { 'osx' } else { 'linux' }
    "$os-$architecture"
}

$cargoProfileArgs = if ($Configuration -eq 'Release') { @('--release') } else { @() }
$targetDir = [System.IO.Path]::Combine($repositoryRoot, 'target', $Configuration.ToLowerInvariant())
$executableSuffix = if ($IsWindows) { '.exe' } else { '' }
$emulatorPath = Join-Path $targetDir "ssm-emulator$executableSuffix"

Push-Location $repositoryRoot
try {
    Initialize-CargoSource
    $runtimeId = Get-RuntimeId
    $libraryFile = if ($IsWindows) { 'ssmsession.dll' } elseif ($IsMacOS) { 'libssmsession.dylib' } else { 'libssmsession.so' }
    $emulatorFile = "ssm-emulator$executableSuffix"
    $pluginFile = "session-manager-plugin$executableSuffix"
    # -Package alone builds only the shipping profile; everything else needs the workspace.
    $packageOnly = $Package -and -not ($Test -or $Soak -or $Demo -or $Benchmark)

    if (-not $packageOnly) {
        Invoke-Step -Name 'cargo build' -File cargo -Arguments (@('build', '--workspace', '--locked') + $cargoProfileArgs)
        # The library and the emulator beside it, where the module looks for them.
        $stageDir = [System.IO.Path]::Combine($repositoryRoot, 'runtimes', $runtimeId, 'native')
        New-Item -ItemType Directory -Force -Path $stageDir | Out-Null
        foreach ($file in $libraryFile, $emulatorFile, $pluginFile) {
            try {
                Copy-Item -LiteralPath (Join-Path $targetDir $file) -Destination (Join-Path $stageDir $file) -Force
            } catch [System.IO.IOException] {
                throw "Cannot replace '$(Join-Path $stageDir $file)' (is a PowerShell session or an emulator using it? Close it and build again): $($_.Exception.Message)"
            }
        }
        $stagedLibrary = Join-Path $stageDir $libraryFile
        Write-Information "Staged $stagedLibrary ($([math]::Round((Get-Item $stagedLibrary).Length / 1MB, 1)) MB), $emulatorFile and $pluginFile" -InformationAction Continue
    }

    $packageManifest = $null
    $packageScript = [System.IO.Path]::Combine($repositoryRoot, 'powershell', 'Build', 'New-SSMSessionPackage.ps1')
    if ($Package) {
        # The shipping build: the dist profile (fat LTO, one codegen unit, stripped). Other
        # platforms' libraries already under runtimes/<rid>/native/ are packaged as they are.
        Invoke-Step -Name 'cargo build --profile dist' -File cargo -Arguments @('build', '--profile', 'dist', '--locked', '-p', 'ssmsession-ffi', '-p', 'ssmsession-emulator', '-p', 'ssmsession-plugin')
        $distDir = [System.IO.Path]::Combine($repositoryRoot, 'target', 'dist')
        $runtimesRoot = [System.IO.Path]::Combine($repositoryRoot, 'out', 'staging', 'runtimes')
        if (Test-Path -LiteralPath $runtimesRoot) { Remove-Item -LiteralPath $runtimesRoot -Recurse -Force }
        $sourceRuntimes = Join-Path $repositoryRoot 'runtimes'
        if (Test-Path -LiteralPath $sourceRuntimes) {
            New-Item -ItemType Directory -Force -Path (Split-Path $runtimesRoot -Parent) | Out-Null
            Copy-Item -LiteralPath $sourceRuntimes -Destination $runtimesRoot -Recurse
        }
        $distStage = [System.IO.Path]::Combine($runtimesRoot, $runtimeId, 'native')
        New-Item -ItemType Directory -Force -Path $distStage | Out-Null
        foreach ($file in $libraryFile, $emulatorFile, $pluginFile) {
            Copy-Item -LiteralPath (Join-Path $distDir $file) -Destination (Join-Path $distStage $file) -Force
        }
        $packageFolder = & $packageScript -RepositoryRoot $repositoryRoot -OutputRoot (Join-Path $repositoryRoot 'out') -RuntimesRoot $runtimesRoot
        foreach ($file in $libraryFile, $emulatorFile, $pluginFile) {
            $shipped = Get-Item -LiteralPath ([System.IO.Path]::Combine($packageFolder.FullName, 'runtimes', $runtimeId, 'native', $file))
            Write-Information ('{0}: {1:N1} MB (dist profile: fat LTO, codegen-units = 1, stripped)' -f $shipped.Name, ($shipped.Length / 1MB)) -InformationAction Continue
        }
        $packageManifest = Join-Path $packageFolder.FullName 'SSMSession.psd1'
        Write-Information "Packaged $($packageFolder.FullName)" -InformationAction Continue
    } elseif ($Test -or $Benchmark) {
        # Tests and benchmarks package the libraries just built (no second compile of the SDK).
        $packageFolder = & $packageScript -RepositoryRoot $repositoryRoot -OutputRoot (Join-Path $repositoryRoot 'out')
        $packageManifest = Join-Path $packageFolder.FullName 'SSMSession.psd1'
        Write-Information "Packaged $($packageFolder.FullName)" -InformationAction Continue
    }

    if ($Test) {
        Invoke-Step -Name 'cargo fmt --check' -File cargo -Arguments @('fmt', '--all', '--check')
        Invoke-Step -Name 'cargo clippy' -File cargo -Arguments (@('clippy', '--workspace', '--all-targets', '--locked') + $cargoProfileArgs + @('--', '-D', 'warnings'))
        Invoke-Step -Name 'cargo test' -File cargo -Arguments (@('test', '--workspace', '--locked') + $cargoProfileArgs)

        Write-Information '==> Pester' -InformationAction Continue
        Import-Module (Get-PesterManifest) -Force
        $env:SSMSESSION_EMULATOR_PATH = $emulatorPath
        # -TestPackage: the suite imports the package instead of the source tree.
        $env:SSMSESSION_TEST_MANIFEST = if ($TestPackage) { $packageManifest } else { $null }
        if ($TestPackage) { Write-Information "Pester runs against the package $packageManifest" -InformationAction Continue }
        $pesterConfiguration = New-PesterConfiguration
        $pesterConfiguration.Run.Path = Join-Path $repositoryRoot 'tests'
        $pesterConfiguration.Run.PassThru = $true
        $pesterConfiguration.Output.Verbosity = 'Detailed'
        $pesterConfiguration.TestResult.Enabled = $true
        $pesterConfiguration.TestResult.OutputPath = [System.IO.Path]::Combine($repositoryRoot, 'out', 'pester-results.xml')
        $result = Invoke-Pester -Configuration $pesterConfiguration
        # Pester's own summary is not a line CI tools read; say it plainly as well.
        Write-Information "Pester: $($result.PassedCount) passed, $($result.FailedCount) failed, $($result.SkippedCount) skipped" -InformationAction Continue
        if ($result.FailedCount -gt 0 -or $result.FailedBlocksCount -gt 0 -or $result.FailedContainersCount -gt 0) {
            throw "Pester: $($result.FailedCount) test(s), $($result.FailedBlocksCount) block(s) and $($result.FailedContainersCount) container(s) failed."
        }
        if ($result.PassedCount -eq 0) {
            throw 'Pester ran no tests.'
        }
    }

    if ($Benchmark -or $Test) {
        $quickRun = $Quick -or -not $Benchmark
        Invoke-Step -Name 'cargo build (benchmark examples)' -File cargo -Arguments (@('build', '-p', 'ssmsession-emulator', '--example', 'port_throughput', '--example', 'cold_call', '--example', 'reader_recovery', '--locked') + $cargoProfileArgs)
        Write-Information "==> benchmarks$(if ($quickRun) { ' (quick smoke run)' })" -InformationAction Continue
        & ([System.IO.Path]::Combine($repositoryRoot, 'tests', 'Benchmark', 'Invoke-SSMBenchmark.ps1')) -RepositoryRoot $repositoryRoot `
            -ModulePath $packageManifest -EmulatorPath $emulatorPath -OutputPath ([System.IO.Path]::Combine($repositoryRoot, 'out', 'bench', 'summary.json')) -Quick:$quickRun
    }

    if ($Soak) {
        & ([System.IO.Path]::Combine($repositoryRoot, 'tests', 'Soak', 'Invoke-SSMSoak.ps1')) -RepositoryRoot $repositoryRoot `
            -ManifestPath (Join-Path $repositoryRoot 'SSMSession.psd1') -EmulatorPath $emulatorPath `
            -OutputPath ([System.IO.Path]::Combine($repositoryRoot, 'out', 'soak', 'summary.json'))
    }

    if ($Demo) {
        $support = [System.IO.Path]::Combine($repositoryRoot, 'tests', 'Support')
        Import-Module (Join-Path $support 'EchoServer.psm1') -Force
        # The demo uses the module as a user would: the package when one was built.
        Import-Module $(if ($packageManifest) { $packageManifest } else { Join-Path $repositoryRoot 'SSMSession.psd1' }) -Force
        $emulator = Start-SSMSessionEmulator -ShowRequests
        $echo = Start-SSMTestEchoServer
        $forward = $null
        try {
            Write-Information "==> Demo: Start-SSMSession against the local emulator at $($emulator.Url) (Start-SSMSessionEmulator)" -InformationAction Continue
            $emulatorClient = $emulator.Parameters
            $session = Start-SSMSession -Target i-064578e5e7454488f -DocumentName AWS-StartPortForwardingSession `
                -Parameter @{ localPortNumber = '0'; portNumber = "$($echo.Port)" } @emulatorClient
            # A fixed width keeps all columns in narrow terminals and CI logs.
            $session | Format-Table -AutoSize | Out-String -Width 400

            Write-Information "==> Demo: Connect-SSMSession forwards a local port to an echo server on 127.0.0.1:$($echo.Port) (no session-manager-plugin)" -InformationAction Continue
            $forward = $session | Connect-SSMSession -AsJob
            $client = [System.Net.Sockets.TcpClient]::new('127.0.0.1', $forward.LocalPort)
            try {
                $stream = $client.GetStream()
                $greeting = [System.Text.Encoding]::UTF8.GetBytes('hello through the tunnel')
                $stream.Write($greeting, 0, $greeting.Length)
                $answer = [byte[]]::new($greeting.Length)
                $read = 0
                while ($read -lt $answer.Length) { $read += $stream.Read($answer, $read, $answer.Length - $read) }
                Write-Information "sent 'hello through the tunnel' to 127.0.0.1:$($forward.LocalPort), got back '$([System.Text.Encoding]::UTF8.GetString($answer))'" -InformationAction Continue
            } finally {
                $client.Dispose()
            }
            $forward.Stop()
            $forward | Format-Table -AutoSize | Out-String -Width 400
        } finally {
            if ($null -ne $forward) { $forward.Stop() }
            Stop-SSMTestEchoServer -Server $echo
            $emulator.Stop()
        }
    }
} finally {
    Pop-Location
}
