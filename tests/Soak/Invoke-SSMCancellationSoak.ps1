#Requires -Version 7.2
<#
.SYNOPSIS
Cancellation and shutdown, over and over: stopped pipelines mid-call, a foreground forward
stopped as Ctrl+C does, runspaces closed with a call in flight, the module removed and
re-imported under a running forward, and pwsh exiting with an open session.

.DESCRIPTION
The soak counterpart of the 'shutdown' and 'module lifetime' tests in
Connect-SSMSession.Emulator.Tests.ps1. Run it in a fresh pwsh: it measures this process.
Each iteration checks what a user would notice (a stop that hangs, a session left open on
the service, a forward that no longer works after a re-import); at the end, threads and
memory are compared with the state after the first iteration. Writes one JSON object and
exits non-zero when anything failed.

.PARAMETER ManifestPath
The SSMSession module to exercise.

.PARAMETER EmulatorUrl
The emulator (loopback).

.PARAMETER EchoPort
A TCP echo server on 127.0.0.1.

.PARAMETER EchoModule
tests/Support/EchoServer.psm1 (Test-SSMTestEcho).

.PARAMETER Iterations
Rounds of every scenario.

.PARAMETER ExitEvery
Start a child pwsh that exits with an open forward every this many iterations.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ManifestPath,
    [Parameter(Mandatory)] [string] $EmulatorUrl,
    [Parameter(Mandatory)] [int] $EchoPort,
    [Parameter(Mandatory)] [string] $EchoModule,
    [ValidateRange(2, 100000)] [int] $Iterations = 50,
    [ValidateRange(1, 100000)] [int] $ExitEvery = 10
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
Import-Module $ManifestPath
Import-Module $EchoModule

$client = @{ Region = 'eu-west-3'; EndpointUrl = $EmulatorUrl; AccessKey = 'AKIDSSMEMULATOR'; SecretKey = 'ssm-emulator-secret-key' }
$portParameters = @{ portNumber = "$EchoPort"; localPortNumber = '0' }
$pwshPath = Join-Path $PSHOME $(if ($IsWindows) { 'pwsh.exe' } else { 'pwsh' })
$stopLimit = [TimeSpan]::FromSeconds(10)
$failures = [System.Collections.Generic.List[string]]::new()
$counts = [ordered]@{ PipelinesStopped = 0; ForegroundForwardsStopped = 0; RunspacesClosed = 0; ReImports = 0; PwshExits = 0; SessionsChecked = 0 }

function Test-SessionEnded([string] $SessionId) {
    $counts.SessionsChecked++
    try {
        $null = Resume-SSMSession -SessionId $SessionId -Force @client
        $false
    } catch {
        $_.FullyQualifiedErrorId -eq 'Amazon.SimpleSystemsManagement.Model.DoesNotExistException,Resume-SSMSession'
    }
}

function Wait-Until([scriptblock] $Condition, [TimeSpan] $Limit) {
    $deadline = [datetime]::UtcNow + $Limit
    while (-not (& $Condition)) {
        if ([datetime]::UtcNow -gt $deadline) { return $false }
        Start-Sleep -Milliseconds 20
    }
    $true
}

function Get-Footprint {
    [GC]::Collect(); [GC]::WaitForPendingFinalizers(); [GC]::Collect()
    $process = [System.Diagnostics.Process]::GetCurrentProcess()
    [pscustomobject]@{
        Threads   = $process.Threads.Count
        RssMB     = [math]::Round($process.WorkingSet64 / 1MB, 1)
        ManagedMB = [math]::Round([GC]::GetTotalMemory($true) / 1MB, 1)
    }
}

# One runspace with the module imported, reused for the pipeline scenarios.
$pool = [runspacefactory]::CreateRunspace()
$pool.Open()
$shell = [powershell]::Create($pool)
$null = $shell.AddScript({ param($Manifest) Import-Module $Manifest }).AddArgument($ManifestPath).Invoke()
$shell.Dispose()

function Invoke-Iteration([int] $Number) {
    # 1. A pipeline stopped in the middle of a 20 s call returns at once.
    $shell = [powershell]::Create($pool)
    $null = $shell.AddScript({ param($Client) Start-SSMSession -Target i-delay-20000 @Client }).AddArgument($client)
    $pending = $shell.BeginInvoke()
    Start-Sleep -Milliseconds (20 + (Get-Random -Maximum 200))
    $watch = [System.Diagnostics.Stopwatch]::StartNew()
    $stopping = $shell.BeginStop($null, $null)
    if (-not $stopping.AsyncWaitHandle.WaitOne($stopLimit)) { $failures.Add("iteration ${Number}: stopping a pipeline mid-call hung") }
    elseif (-not $pending.AsyncWaitHandle.WaitOne($stopLimit)) { $failures.Add("iteration ${Number}: the stopped call did not return") }
    $shell.Dispose()
    $counts.PipelinesStopped++

    # 2. A foreground forward stopped as Ctrl+C does: the session ends.
    $session = Start-SSMSession -Target "i-soak-$Number" -DocumentName AWS-StartPortForwardingSession -Parameter $portParameters @client
    $shell = [powershell]::Create($pool)
    $null = $shell.AddScript({
            param($Session, $Client)
            $Session | Connect-SSMSession @Client -InformationAction SilentlyContinue
        }).AddArgument($session).AddArgument($client)
    $pending = $shell.BeginInvoke()
    $listening = Wait-Until { @($shell.Streams.Progress | Where-Object { $_.Activity -like 'Forwarding 127.0.0.1:*' }).Count -gt 0 } ([TimeSpan]::FromSeconds(20))
    if (-not $listening) { $failures.Add("iteration ${Number}: the foreground forward did not start") }
    $stopping = $shell.BeginStop($null, $null)
    if (-not $stopping.AsyncWaitHandle.WaitOne($stopLimit)) { $failures.Add("iteration ${Number}: stopping a foreground forward hung") }
    $shell.Dispose()
    if (-not (Test-SessionEnded $session.SessionId)) { $failures.Add("iteration ${Number}: a stopped foreground forward left its session open") }
    $counts.ForegroundForwardsStopped++

    # 3. A runspace closed with a call in flight.
    $runspace = [runspacefactory]::CreateRunspace()
    $runspace.Open()
    $shell = [powershell]::Create($runspace)
    $null = $shell.AddScript({
            param($Manifest, $Client)
            Import-Module $Manifest
            Start-SSMSession -Target i-delay-20000 @Client
        }).AddArgument($ManifestPath).AddArgument($client)
    $null = $shell.BeginInvoke()
    Start-Sleep -Milliseconds (100 + (Get-Random -Maximum 600))
    $runspace.CloseAsync()
    if (-not (Wait-Until { $runspace.RunspaceStateInfo.State -in 'Closed', 'Broken' } $stopLimit)) {
        $failures.Add("iteration ${Number}: closing a runspace with a call in flight hung")
    }
    $shell.Dispose()
    $runspace.Dispose()
    $counts.RunspacesClosed++

    # 4. The module removed under a running forward, then imported again: the session ends
    #    and forwarding works again.
    $forward = Start-SSMSession -Target "i-soak-$Number" -DocumentName AWS-StartPortForwardingSession -Parameter $portParameters @client | Connect-SSMSession -AsJob
    $sessionId = $forward.SessionId
    Remove-Module SSMSession
    Import-Module $ManifestPath -Force
    if (-not (Test-SessionEnded $sessionId)) { $failures.Add("iteration ${Number}: removing the module left a session open") }
    $again = Start-SSMSession -Target "i-soak-$Number" -DocumentName AWS-StartPortForwardingSession -Parameter $portParameters @client | Connect-SSMSession -AsJob
    try {
        if (-not (Test-SSMTestEcho -Port $again.LocalPort -Length 65536 -Seed $Number)) { $failures.Add("iteration ${Number}: the re-imported module forwarded wrong bytes") }
    } finally {
        $again.Stop()
    }
    $counts.ReImports++

    # 5. Now and then: pwsh exits with a forward running; it must end, and so must the session.
    if ($Number % $ExitEvery -eq 0) {
        $script = @'
$ErrorActionPreference = 'Stop'
Import-Module '__MANIFEST__'
$client = @{ Region = 'eu-west-3'; EndpointUrl = '__URL__'; AccessKey = 'AKIDSSMEMULATOR'; SecretKey = 'ssm-emulator-secret-key' }
(Start-SSMSession -Target i-soak-exit -DocumentName AWS-StartPortForwardingSession -Parameter @{ portNumber = '__PORT__'; localPortNumber = '0' } @client | Connect-SSMSession -AsJob).SessionId
'@.Replace('__MANIFEST__', $ManifestPath).Replace('__URL__', $EmulatorUrl).Replace('__PORT__', "$EchoPort")
        $startInfo = [System.Diagnostics.ProcessStartInfo]::new($pwshPath)
        foreach ($argument in '-NoProfile', '-NonInteractive', '-Command', $script) { $startInfo.ArgumentList.Add($argument) }
        $startInfo.RedirectStandardOutput = $true
        $child = [System.Diagnostics.Process]::Start($startInfo)
        $childSession = $child.StandardOutput.ReadLine()
        if (-not $child.WaitForExit(60000)) {
            $child.Kill($true)
            $failures.Add("iteration ${Number}: pwsh with an open forward did not exit")
        } elseif (-not (Test-SessionEnded $childSession)) {
            $failures.Add("iteration ${Number}: pwsh exited and left session '$childSession' open")
        }
        $child.Dispose()
        $counts.PwshExits++
    }
}

$watch = [System.Diagnostics.Stopwatch]::StartNew()
Invoke-Iteration -Number 1
$baseline = Get-Footprint
foreach ($number in 2..$Iterations) {
    Invoke-Iteration -Number $number
}
# PowerShell keeps the last closed runspaces reachable for a moment; settle before measuring.
Start-Sleep -Seconds 2
$final = Get-Footprint
$pool.Dispose()
# Orphaned threads would keep pwsh alive or grow with every round; a few come and go with
# the thread pool. Managed memory: closed runspaces and removed module instances must go.
if ($final.Threads -gt $baseline.Threads + 8) { $failures.Add("threads grew from $($baseline.Threads) to $($final.Threads)") }
if ($final.ManagedMB - $baseline.ManagedMB -gt 10 + 0.5 * $Iterations) { $failures.Add("managed memory grew by $([math]::Round($final.ManagedMB - $baseline.ManagedMB, 1)) MB") }
$report = [ordered]@{
    Iterations        = $Iterations
    Seconds           = [math]::Round($watch.Elapsed.TotalSeconds, 1)
    Failures          = $failures.Count
    FailureList       = @($failures | Select-Object -First 20)
    ThreadsAfterFirst = $baseline.Threads
    ThreadsAtEnd      = $final.Threads
    RssGrowthMB       = [math]::Round($final.RssMB - $baseline.RssMB, 1)
    ManagedGrowthMB   = [math]::Round($final.ManagedMB - $baseline.ManagedMB, 1)
}
foreach ($entry in $counts.GetEnumerator()) { $report[$entry.Key] = $entry.Value }
[pscustomobject]$report | ConvertTo-Json -Compress
if ($failures.Count -gt 0) { exit 1 }
