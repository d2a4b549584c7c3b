#Requires -Version 7.2
<#
.SYNOPSIS
The long reliability runs behind `build.ps1 -Soak`: the C ABI fuzz harness at 100,000
cases per property and under valgrind; the data channel under faults with 20x the CI
volume; parallel load over many rounds; cancellation and shutdown over and over.

.DESCRIPTION
CI runs the same tests with small counts (`cargo test`, Pester); this is the long mode.
Prints each run's figures and writes them to summary.json. Fails when any run fails.
Everything talks to 127.0.0.1 only.

Valgrind runs with --undef-value-errors=no: its tracking of uninitialised values reports
false positives on optimised Rust (enum layouts with niches, such as Option<String>,
compare words whose unused bytes are uninitialised). Invalid reads and writes, invalid
frees and definite leaks are all reported and fail the run.

.PARAMETER RepositoryRoot
The repository.

.PARAMETER OutputPath
Where summary.json goes.

.PARAMETER Cases
Cases per property for the native fuzz run (default 100,000).

.PARAMETER ValgrindCases
Cases per property under valgrind (default 2,000; valgrind is ~30x slower).

.PARAMETER ManifestPath
The SSMSession module for the PowerShell runs.

.PARAMETER EmulatorPath
The ssm-emulator executable.

.PARAMETER Scale
How many times the CI volume the data-channel and emulator-load tests move (default 20).

.PARAMETER LoadRounds
Rounds of 8 runspaces x 1,000 Start-SSMSession calls (default 20; from 20 on, the managed
heap must level off).

.PARAMETER CancellationIterations
Rounds of the cancellation and shutdown scenarios (default 100).
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)]
    [string] $RepositoryRoot,

    [Parameter(Mandatory)]
    [string] $OutputPath,

    [ValidateRange(1, [int]::MaxValue)]
    [int] $Cases = 100000,

    [ValidateRange(1, [int]::MaxValue)]
    [int] $ValgrindCases = 2000,

    [Parameter(Mandatory)]
    [string] $ManifestPath,

    [Parameter(Mandatory)]
    [string] $EmulatorPath,

    [ValidateRange(1, 1000)]
    [int] $Scale = 20,

    [ValidateRange(1, 1000)]
    [int] $LoadRounds = 20,

    [ValidateRange(2, 100000)]
    [int] $CancellationIterations = 100
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$results = [System.Collections.Generic.List[object]]::new()

function Invoke-Timed {
    # Runs a native command, echoing its output; returns its exit code, duration and the
    # output lines that match -Figures (the run's own report).
    param([string] $Name, [string] $File, [string[]] $Arguments, [string] $Figures = '(?!)')
    Write-Information "==> soak: $Name" -InformationAction Continue
    $watch = [System.Diagnostics.Stopwatch]::StartNew()
    $lines = [System.Collections.Generic.List[string]]::new()
    & $File @Arguments 2>&1 | ForEach-Object {
        $line = "$_"
        if ($line -match $Figures) { $lines.Add($line) }
        $line
    } | Out-Host
    $code = $LASTEXITCODE
    [pscustomobject]@{ Name = $Name; ExitCode = $code; Seconds = [math]::Round($watch.Elapsed.TotalSeconds, 1); Figures = @($lines) }
}

$pwshPath = Join-Path $PSHOME $(if ($IsWindows) { 'pwsh.exe' } else { 'pwsh' })
$support = [System.IO.Path]::Combine($RepositoryRoot, 'tests', 'Support')
Import-Module (Join-Path $support 'SSMEmulator.psm1') -Force
Import-Module (Join-Path $support 'EchoServer.psm1') -Force

Push-Location $RepositoryRoot
$savedCases = $env:SSMSESSION_FUZZ_CASES
try {
    # 1. The ABI under hostile input, natively, at full count.
    $env:SSMSESSION_FUZZ_CASES = "$Cases"
    $run = Invoke-Timed -Name "ABI fuzz, $Cases cases per property" -File cargo -Arguments @(
        'test', '--release', '--locked', '-p', 'ssmsession-ffi', '--test', 'abi_fuzz')
    $run | Add-Member -NotePropertyName Cases -NotePropertyValue $Cases
    $results.Add($run)

    # 2. The same harness under valgrind.
    $valgrind = Get-Command valgrind -ErrorAction SilentlyContinue
    if ($valgrind -and -not $IsWindows) {
        $built = & cargo test --release --locked -p ssmsession-ffi --test abi_fuzz --no-run 2>&1
        $binary = $built | ForEach-Object { "$_" } | Where-Object { $_ -match 'Executable tests/abi_fuzz\.rs \((?<path>[^)]+)\)' } |
            ForEach-Object { $Matches.path } | Select-Object -Last 1
        if (-not $binary) { throw "Could not find the abi_fuzz test binary in cargo's output: $($built -join ' ')" }
        $env:SSMSESSION_FUZZ_CASES = "$ValgrindCases"
        $run = Invoke-Timed -Name "ABI fuzz under valgrind, $ValgrindCases cases per property" -File $valgrind.Source -Arguments @(
            '--error-exitcode=99', '--undef-value-errors=no', '--leak-check=full', '--errors-for-leak-kinds=definite',
            '--show-leak-kinds=definite', '-q', $binary, '--test-threads=1')
        $run | Add-Member -NotePropertyName Cases -NotePropertyValue $ValgrindCases
        $results.Add($run)
    } else {
        Write-Warning 'valgrind is not installed: the memory-checked run is skipped.'
    }

    # 3. The emulator under 200 concurrent clients, $Scale times the calls; 5. the data
    #    channel under loss, duplication, reordering, forced closes, pauses and a stalled
    #    agent, with $Scale times the bytes.
    $env:SSMSESSION_SOAK_SCALE = "$Scale"
    $results.Add((Invoke-Timed -Name "emulator load and data channel under faults, ${Scale}x volume" -File cargo -Figures '^(under faults|across forced closes|stalled):' -Arguments @(
                'test', '--release', '--locked', '-p', 'ssmsession-emulator', '--test', 'load', '--test', 'port_forwarding', '--', '--nocapture')))

    # 3. Parallel load from PowerShell: $LoadRounds rounds of 8 runspaces x 1,000 calls.
    $credentials = foreach ($n in 0..7) { '--credential'; "AKIDLOADR${n}:load-secret-${n}:load-r$n" }
    $emulator = Start-SSMEmulator -Path $EmulatorPath -ArgumentList $credentials
    try {
        $run = Invoke-Timed -Name "parallel load, $LoadRounds rounds of 8 x 1,000 calls" -File $pwshPath -Figures '^\{' -Arguments @(
            '-NoProfile', '-NonInteractive', '-File', (Join-Path $support 'Invoke-SSMParallelLoad.ps1'),
            '-ManifestPath', $ManifestPath, '-EndpointUrl', $emulator.Url, '-PerRunspace', '1000', '-Rounds', "$LoadRounds")
        $report = $run.Figures | Select-Object -Last 1 | ConvertFrom-Json
        # Bounded, not growing with the rounds: at most two rounds' runspaces alive (the
        # latest -Parallel's, and the one PowerShell's per-assembly cmdlet cache holds through
        # the PSModuleInfo of whichever runspace last auto-loaded Microsoft.PowerShell.Management),
        # and the managed heap levelling off once PowerShell's call-site rule caches (128 rules,
        # each holding its runspace's TypeTable) are full: the second half of the rounds must
        # add less than half of what the first half added, not counting its largest one-round
        # step (a retained round of runspaces, ~12 MB).
        $afterRound = @($report.ManagedAfterRoundMB -split ',' | ForEach-Object { [double]$_ } | Select-Object -First $LoadRounds)
        $half = [int][math]::Floor($afterRound.Count / 2)
        $steps = @(for ($i = $half + 1; $i -lt $afterRound.Count; $i++) { $afterRound[$i] - $afterRound[$i - 1] })
        $largestStep = [math]::Max(0, ($steps | Measure-Object -Maximum).Maximum)
        $levelsOff = $LoadRounds -lt 20 -or ($afterRound[-1] - $afterRound[$half] - $largestStep) -lt (($afterRound[$half] - $afterRound[0]) / 2)
        $run | Add-Member -NotePropertyName ManagedLevelsOff -NotePropertyValue $levelsOff
        if ($run.ExitCode -eq 0 -and ($report.Failures -ne 0 -or $report.Wrong -ne 0 -or $report.MeasuredRoundsRetained -gt 2 -or -not $levelsOff)) {
            $run.ExitCode = 1
        }
        $results.Add($run)
    } finally {
        Stop-SSMEmulator -Emulator $emulator
    }

    # 4. Cancellation and shutdown, $CancellationIterations times.
    $emulator = Start-SSMEmulator -Path $EmulatorPath
    $echo = Start-SSMTestEchoServer
    try {
        $results.Add((Invoke-Timed -Name "cancellation and shutdown, $CancellationIterations rounds" -File $pwshPath -Figures '^\{' -Arguments @(
                    '-NoProfile', '-NonInteractive', '-File', ([System.IO.Path]::Combine($RepositoryRoot, 'tests', 'Soak', 'Invoke-SSMCancellationSoak.ps1')),
                    '-ManifestPath', $ManifestPath, '-EmulatorUrl', $emulator.Url, '-EchoPort', "$($echo.Port)",
                    '-EchoModule', (Join-Path $support 'EchoServer.psm1'), '-Iterations', "$CancellationIterations")))
    } finally {
        Stop-SSMTestEchoServer -Server $echo
        Stop-SSMEmulator -Emulator $emulator
    }
} finally {
    Remove-Item Env:SSMSESSION_SOAK_SCALE -ErrorAction SilentlyContinue
    if ($null -eq $savedCases) { Remove-Item Env:SSMSESSION_FUZZ_CASES -ErrorAction SilentlyContinue } else { $env:SSMSESSION_FUZZ_CASES = $savedCases }
    Pop-Location
}

$results | Format-Table -AutoSize -Property Name, ExitCode, Seconds | Out-String -Width 200 | Write-Information -InformationAction Continue
New-Item -ItemType Directory -Force -Path (Split-Path $OutputPath -Parent) | Out-Null
[pscustomobject]@{
    Date    = [datetime]::UtcNow.ToString('o')
    Machine = "$([Environment]::ProcessorCount) cores, $([System.Runtime.InteropServices.RuntimeInformation]::OSDescription)"
    Runs    = $results
} | ConvertTo-Json -Depth 5 | Set-Content -LiteralPath $OutputPath
$failed = @($results | Where-Object ExitCode -ne 0)
if ($failed.Count -gt 0) {
    throw "Soak failed: $(($failed | ForEach-Object { "$($_.Name) (exit $($_.ExitCode))" }) -join '; ')."
}
Write-Information "Soak passed; written: $OutputPath" -InformationAction Continue
