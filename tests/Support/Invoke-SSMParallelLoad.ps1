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

.PARAMETER Rounds
Measured rounds (the soak mode runs many); every one's runspaces must be released.

#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ManifestPath,
    [Parameter(Mandatory)] [string] $EndpointUrl,
    [int] $PerRunspace = 1000,
    [ValidateRange(1, 10000)]
    [int] $Rounds = 1
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
$roundReferences = [System.Collections.Generic.List[object]]::new()
# Managed heap after each round. PowerShell's member-access call sites keep up to 128 rules
# each, and a rule holds the TypeTable of the runspace it was made in: memory grows with
# the first ~128 runspaces that ran the same code, then levels off (measured: flat from
# round 16 of 30; any script does this). The soak checks that it levels off.
$managedAfterRound = [System.Collections.Generic.List[double]]::new()
$watch = [System.Diagnostics.Stopwatch]::StartNew()
# The measured rounds, then a short one: PowerShell itself keeps the runspaces of the latest
# ForEach-Object -Parallel reachable for a while, so the measured rounds' runspaces are
# checked once another round has run.
foreach ($count in @(@($PerRunspace) * $Rounds) + 10) {
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
    $roundReferences.Add($weak)
    $managedAfterRound.Add([math]::Round((Get-ManagedMB), 1))
}
$seconds = $watch.Elapsed.TotalSeconds
$null = Get-ManagedMB
$measured = @($roundReferences | Select-Object -First $Rounds | ForEach-Object { $_ })
[pscustomobject]@{
    Calls = $calls; Unique = $unique.Count; Wrong = $wrong; Failures = $failures
    MeasuredRunspacesAlive = @($measured | Where-Object IsAlive).Count
    # Measured rounds with runspaces still alive. PowerShell's per-assembly cmdlet cache keeps
    # the PSModuleInfo of the runspace that last auto-loaded Microsoft.PowerShell.Management
    # (found with dotnet-dump gcroot), and with it that runspace's round: at most one such
    # round besides the latest, whatever the number of rounds, which is what the soak checks.
    MeasuredRoundsRetained = @($roundReferences | Select-Object -First $Rounds | Where-Object { @($_ | Where-Object IsAlive).Count -gt 0 }).Count
    ManagedGrowthMB = [math]::Round((Get-ManagedMB) - $baseline, 1)
    ManagedAfterRoundMB = $managedAfterRound -join ','
    RssMB = [math]::Round([System.Diagnostics.Process]::GetCurrentProcess().WorkingSet64 / 1MB, 1)
    Seconds = [math]::Round($seconds, 1)
} | ConvertTo-Json -Compress
