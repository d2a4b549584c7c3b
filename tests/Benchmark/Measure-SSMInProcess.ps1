#Requires -Version 7.2
<#
.SYNOPSIS
The in-process rows of the benchmark, run in a fresh pwsh: warm calls, raw native calls,
parallel calls and memory growth, ours against the AWS .NET SDK in the same process.

.DESCRIPTION
Writes one JSON object (the last line of output) with the per-call times and totals;
Invoke-SSMBenchmark.ps1 turns it into rows.

.PARAMETER ManifestPath
The SSMSession module to measure.

.PARAMETER EndpointUrl
The emulator.

.PARAMETER AnchorCorePath
AWSSDK.Core.dll.

.PARAMETER AnchorServicePath
AWSSDK.SimpleSystemsManagement.dll.

.PARAMETER EmulatorProcessId
The emulator's process, whose CPU time is reported for the parallel window.

.PARAMETER Warm
Sequential calls per warm row.

.PARAMETER WarmUp
Calls of each, at least, before the warm rows are measured; the warm-up then goes on in
blocks until the runtime has stopped compiling (at most 20 methods JIT-compiled in a block
of 200 calls of each) and our calls' block median settles (within 3 % of the block before),
up to four times this many.

.PARAMETER Parallel
Calls in the parallel rows (over 8 runspaces).

.PARAMETER Memory
Calls in the memory row.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ManifestPath,
    [Parameter(Mandatory)] [string] $EndpointUrl,
    [Parameter(Mandatory)] [string] $AnchorCorePath,
    [Parameter(Mandatory)] [string] $AnchorServicePath,
    [Parameter(Mandatory)] [int] $EmulatorProcessId,
    [int] $Warm = 300,
    [int] $WarmUp = 2000,
    [int] $Parallel = 2000,
    [int] $Memory = 10000
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$accessKey = 'AKIDSSMEMULATOR'
$secretKey = 'ssm-emulator-secret-key'

function Measure-Call {
    # Milliseconds of each of $Count calls of $Call.
    param([int] $Count, [scriptblock] $Call)
    foreach ($i in 1..$Count) {
        $watch = [System.Diagnostics.Stopwatch]::StartNew()
        . $Call
        $watch.Elapsed.TotalMilliseconds
    }
}

function Measure-ParallelWindow {
    # 8 runspaces run $Setup (import, client) and 5 warm-up calls, then wait at a barrier so
    # that all loops start together; returns the window from the first loop's start to the
    # last one's end, with this process's and the emulator's CPU time inside it.
    param([int] $PerRunspace, [hashtable] $Shared, [string] $Setup, [string] $Call)
    $barrier = [System.Threading.Barrier]::new(8)
    $emulatorId = $EmulatorProcessId
    $windows = 1..8 | ForEach-Object -ThrottleLimit 8 -Parallel {
        $barrier = $using:barrier
        $shared = $using:Shared
        . ([scriptblock]::Create($using:Setup))
        $call = [scriptblock]::Create($using:Call)
        foreach ($i in 1..5) { . $call }
        $cpu = { [System.Diagnostics.Process]::GetCurrentProcess().TotalProcessorTime.TotalMilliseconds }
        $emulatorCpu = { [System.Diagnostics.Process]::GetProcessById($using:emulatorId).TotalProcessorTime.TotalMilliseconds }
        $null = $barrier.SignalAndWait(60000)
        $window = @{ Start = [System.Diagnostics.Stopwatch]::GetTimestamp(); Cpu = & $cpu; EmulatorCpu = & $emulatorCpu }
        foreach ($i in 1..$using:PerRunspace) { . $call }
        $window.End = [System.Diagnostics.Stopwatch]::GetTimestamp()
        $window.CpuEnd = & $cpu
        $window.EmulatorCpuEnd = & $emulatorCpu
        $window
    }
    $first = $windows | Sort-Object { $_.Start } | Select-Object -First 1
    $last = $windows | Sort-Object { $_.End } | Select-Object -Last 1
    @{
        Milliseconds = ($last.End - $first.Start) * 1000.0 / [System.Diagnostics.Stopwatch]::Frequency
        PwshCpu      = $last.CpuEnd - $first.Cpu
        EmulatorCpu  = $last.EmulatorCpuEnd - $first.EmulatorCpu
    }
}

Import-Module $ManifestPath
Add-Type -Path $AnchorCorePath
Add-Type -Path $AnchorServicePath
$config = [Amazon.SimpleSystemsManagement.AmazonSimpleSystemsManagementConfig]::new()
$config.ServiceURL = $EndpointUrl
$config.AuthenticationRegion = 'eu-west-3'
$client = [Amazon.SimpleSystemsManagement.AmazonSimpleSystemsManagementClient]::new([Amazon.Runtime.BasicAWSCredentials]::new($accessKey, $secretKey), $config)
$request = [Amazon.SimpleSystemsManagement.Model.StartSessionRequest]::new()
$request.Target = 'i-1'
$common = @{ Target = 'i-1'; Region = 'eu-west-3'; EndpointUrl = $EndpointUrl; AccessKey = $accessKey; SecretKey = $secretKey }
$oursCall = { $null = Start-SSMSession @common }
$anchorCall = { $null = $client.StartSessionAsync($request).GetAwaiter().GetResult() }

# Steady state for both. .NET tiers its JIT up after ~30 calls of a method and PowerShell
# compiles a script block after 16 runs, but with the pwsh of `dotnet tool install` (its
# System.Management.Automation.dll has no ReadyToRun code: everything starts at tier 0) on
# two cores the background recompilation takes thousands of calls. Measured per 200 calls
# (2026-12-04, after the warm path was folded): ~1.4 ms for the first ~1,500 calls, then
# 1.1, 1.0, 0.9, 0.8, 0.7 ms while the runtime compiles ~5,000 methods again, then flat at
# ~0.67 ms; with DOTNET_TieredCompilation=0 there is no curve. A median that agrees with
# the block before is no proof (the first ~1,500 calls agree with each other: a fixed
# 2,000 read 1.02, 1.02 and 1.22 ms in three runs of one day, one settled-median run 1.26
# ms for code whose steady state is 0.7), so the warm-up goes on, in blocks, until the
# runtime has stopped compiling and our block median settles, with a bound.
$block = [math]::Max(1, [math]::Min(200, $WarmUp))
$warmUpCalls = 0
$previous = [double]::MaxValue
$jitted = -1
while ($warmUpCalls -lt 4 * $WarmUp) {
    $compiledBefore = [System.Runtime.JitInfo]::GetCompiledMethodCount($false)
    $times = foreach ($i in 1..$block) {
        $watch = [System.Diagnostics.Stopwatch]::StartNew()
        . $oursCall
        $watch.Elapsed.TotalMilliseconds
        . $anchorCall
    }
    $jitted = [System.Runtime.JitInfo]::GetCompiledMethodCount($false) - $compiledBefore
    $warmUpCalls += $block
    $median = ($times | Sort-Object)[[int]($block / 2)]
    $settled = [math]::Abs($previous - $median) -le 0.03 * $median -and $jitted -le 20
    $previous = $median
    if ($warmUpCalls -ge $WarmUp -and $settled) { break }
}
# Ours and the anchor take turns in three rounds, so that a drift of the machine during
# the measurement touches both.
$ours = [System.Collections.Generic.List[double]]::new()
$anchor = [System.Collections.Generic.List[double]]::new()
$perRound = [math]::Max(1, [int]($Warm / 3))
foreach ($round in 1..3) {
    foreach ($time in Measure-Call $perRound $oursCall) { $ours.Add($time) }
    foreach ($time in Measure-Call $perRound $anchorCall) { $anchor.Add($time) }
}

# The same StartSession through the native export the module uses (ssm_call_start, with
# the module's 100 ms first wait, which a loopback call never outlasts): no PowerShell layer.
$native = & (Get-Module SSMSession) { Initialize-SSMNativeLibrary }
$call = @{ Operation = 'StartSession'; WaitMs = 100; Request = @{ Target = 'i-1'; Client = @{ Region = 'eu-west-3'; EndpointUrl = $EndpointUrl; AccessKey = $accessKey; SecretKey = $secretKey } } }
$bytes = [System.Text.Encoding]::UTF8.GetBytes(($call | ConvertTo-Json -Compress -Depth 5) + [char]0)
# Measured only if it is the successful call the module makes (not a fast error).
$probe = $native::ssm_call_start($bytes)
try { $answer = [System.Runtime.InteropServices.Marshal]::PtrToStringUTF8($probe) } finally { $native::ssm_string_free($probe) }
$envelope = $answer | ConvertFrom-Json
if (-not $envelope.Ok -or $envelope.PSObject.Properties['Pending']) { throw "The raw native call does not succeed: $answer" }
$raw = Measure-Call $Warm { $pointer = $native::ssm_call_start($bytes); $native::ssm_string_free($pointer) }

# Memory before the parallel rows (their 8 runspaces leave GC heap behind that is not ours
# to count). The warm rows above already ran a few hundred calls: caches are filled.
function Get-Footprint {
    [GC]::Collect(); [GC]::WaitForPendingFinalizers(); [GC]::Collect()
    $process = [System.Diagnostics.Process]::GetCurrentProcess()
    @{ Rss = $process.WorkingSet64; Managed = [GC]::GetTotalMemory($true) }
}
# RSS rises during the first thousand calls or so (tiered JIT, PowerShell compiling hot
# script blocks, the GC sizing its heap): that is measured apart, as the warm-up, and the
# growth is counted from there, with checkpoints to show its shape.
$start = Get-Footprint
foreach ($i in 1..[math]::Min(2000, [math]::Max(1, [int]($Memory / 5)))) { . $oursCall }
$before = Get-Footprint
$checkpoints = foreach ($chunk in 1..5) {
    foreach ($i in 1..[math]::Max(1, [int]($Memory / 5))) { . $oursCall }
    $footprint = Get-Footprint
    [math]::Round(($footprint.Rss - $before.Rss) / 1MB, 2)
}
$after = Get-Footprint

$perRunspace = [int]($Parallel / 8)
$oursParallel = Measure-ParallelWindow -PerRunspace $perRunspace -Shared @{ Common = $common; Manifest = $ManifestPath } `
    -Setup 'Import-Module $shared.Manifest; $c = $shared.Common' -Call '$null = Start-SSMSession @c'
$anchorParallel = Measure-ParallelWindow -PerRunspace $perRunspace -Shared @{ Client = $client; Request = $request } `
    -Setup '$client = $shared.Client; $request = $shared.Request' -Call '$null = $client.StartSessionAsync($request).GetAwaiter().GetResult()'

@{
    Ours = $ours; Anchor = $anchor; Raw = $raw; WarmUpCalls = $warmUpCalls; WarmUpLastBlockJitted = $jitted
    OursParallel = $oursParallel; AnchorParallel = $anchorParallel
    RssGrowth = $after.Rss - $before.Rss; ManagedGrowth = $after.Managed - $before.Managed
    WarmUpRssGrowth = $before.Rss - $start.Rss; RssCheckpoints = $checkpoints
} | ConvertTo-Json -Compress -Depth 4
