#Requires -Version 7.2
<#
.SYNOPSIS
Runs Start-SSMSession from 8 runspaces at once (ForEach-Object -Parallel) and reports what a
load test checks: every call answered, no answer crossing to another runspace, and every
runspace released afterwards.

.DESCRIPTION
Run in a fresh pwsh (the caller's process stays clean). Each runspace signs with its own key
pair, AKIDLOADR<n> / load-secret-<n>, which the emulator must accept as user load-r<n>, so a
session id answers who asked for it. A warm-up round, the measured round of -PerRunspace
calls each, and a short round after it; weak references to the measured round's runspaces
then show whether anything still holds them. Writes one JSON object.

.PARAMETER ManifestPath
The SSMSession module.

.PARAMETER EndpointUrl
The emulator.

.PARAMETER PerRunspace
Calls per runspace per round.

#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ManifestPath,
    [Parameter(Mandatory)] [string] $EndpointUrl,
    [int] $PerRunspace = 1000
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

function Invoke-Round {
    param([int] $Count)
    1..8 | ForEach-Object -ThrottleLimit 8 -Parallel {
        $ErrorActionPreference = 'Stop'
        Import-Module $using:ManifestPath
        $n = $_ - 1
        $keys = @{ Region = 'eu-west-3'; EndpointUrl = $using:EndpointUrl; AccessKey = "AKIDLOADR$n"; SecretKey = "load-secret-$n" }
        $ids = [System.Collections.Generic.List[string]]::new()
        $failures = 0
        foreach ($i in 1..$using:Count) {
            try { $ids.Add((Start-SSMSession -Target "i-$n-$i" @keys).SessionId) } catch { $failures++ }
        }
        [pscustomobject]@{ Runspace = $n; Ids = $ids; Failures = $failures; Handle = [runspace]::DefaultRunspace }
    }
}

function Get-ManagedMB {
    [GC]::Collect(); [GC]::WaitForPendingFinalizers(); [GC]::Collect()
    [GC]::GetTotalMemory($true) / 1MB
}

$null = Invoke-Round -Count 50
$baseline = Get-ManagedMB
$calls = 0; $unique = [System.Collections.Generic.HashSet[string]]::new(); $wrong = 0; $failures = 0
$rounds = [System.Collections.Generic.List[object]]::new()
$watch = [System.Diagnostics.Stopwatch]::StartNew()
# The measured round, then a short one: PowerShell itself keeps the runspaces of the latest
# ForEach-Object -Parallel reachable for a while, so the measured round's runspaces are
# checked once another round has run.
foreach ($count in $PerRunspace, 10) {
    $weak = [System.Collections.Generic.List[System.WeakReference]]::new()
    foreach ($result in Invoke-Round -Count $count) {
        $failures += $result.Failures
        foreach ($id in $result.Ids) {
            $calls++
            $null = $unique.Add($id)
            if (-not $id.StartsWith("load-r$($result.Runspace)-")) { $wrong++ }
        }
        $weak.Add([System.WeakReference]::new($result.Handle))
    }
    $result = $null
    $rounds.Add($weak)
}
$seconds = $watch.Elapsed.TotalSeconds
$null = Get-ManagedMB
[pscustomobject]@{
    Calls = $calls; Unique = $unique.Count; Wrong = $wrong; Failures = $failures
    MeasuredRunspacesAlive = @($rounds[0] | Where-Object IsAlive).Count
    ManagedGrowthMB = [math]::Round((Get-ManagedMB) - $baseline, 1)
    Seconds = [math]::Round($seconds, 1)
} | ConvertTo-Json -Compress
