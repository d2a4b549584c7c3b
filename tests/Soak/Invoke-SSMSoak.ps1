#Requires -Version 7.2
<#
.SYNOPSIS
The long reliability runs behind `build.ps1 -Soak`: the C ABI fuzz harness at 100,000
cases per property, then the same harness under valgrind (invalid memory access and leaks).

.DESCRIPTION
CI runs the same harness with a small case count in `cargo test`; this is the long mode.
Prints each run's figures and writes them to summary.json. Fails when any run fails.

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
    [int] $ValgrindCases = 2000
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$results = [System.Collections.Generic.List[object]]::new()

function Invoke-Timed {
    # Runs a native command, echoing its output; returns its exit code and duration.
    param([string] $Name, [string] $File, [string[]] $Arguments)
    Write-Information "==> soak: $Name" -InformationAction Continue
    $watch = [System.Diagnostics.Stopwatch]::StartNew()
    & $File @Arguments | Out-Host
    $code = $LASTEXITCODE
    [pscustomobject]@{ Name = $Name; ExitCode = $code; Seconds = [math]::Round($watch.Elapsed.TotalSeconds, 1) }
}

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
} finally {
    if ($null -eq $savedCases) { Remove-Item Env:SSMSESSION_FUZZ_CASES -ErrorAction SilentlyContinue } else { $env:SSMSESSION_FUZZ_CASES = $savedCases }
    Pop-Location
}

$results | Format-Table -AutoSize | Out-String -Width 200 | Write-Information -InformationAction Continue
New-Item -ItemType Directory -Force -Path (Split-Path $OutputPath -Parent) | Out-Null
[pscustomobject]@{
    Date    = [datetime]::UtcNow.ToString('o')
    Machine = "$([Environment]::ProcessorCount) cores, $([System.Runtime.InteropServices.RuntimeInformation]::OSDescription)"
    Runs    = $results
} | ConvertTo-Json -Depth 4 | Set-Content -LiteralPath $OutputPath
$failed = @($results | Where-Object ExitCode -ne 0)
if ($failed.Count -gt 0) {
    throw "Soak failed: $(($failed | ForEach-Object { "$($_.Name) (exit $($_.ExitCode))" }) -join '; ')."
}
Write-Information "Soak passed; written: $OutputPath" -InformationAction Continue
