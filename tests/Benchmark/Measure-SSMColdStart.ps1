#Requires -Version 7.2
<#
.SYNOPSIS
Profiles the cold path (import and first Start-SSMSession) of fresh pwsh processes, phase by phase.

.DESCRIPTION
Each run is a fresh `pwsh -NoProfile` whose whole script is: take a timestamp, import the
module, take one, call Start-SSMSession once, take one, call it again, take one. Anything
more in that process would pay first-use costs (JIT, PowerShell's binders for each new
kind of call) that the module would otherwise pay, and hide them: measured, a profiler
that did its own set-up first saw half of the real cost.

The phases inside come from a copy of the module (made here, in this process) with
timestamps added at fixed places: the root module's first line, before its functions,
before the completers' registration and its end; in Initialize-SSMNativeLibrary after
the Reflection.Emit type is created and after the first P/Invoke (dlopen); in
Invoke-SSMOperation on the first call, after the request's JSON, after the native call
and after the envelope's parse. Each is Stopwatch.GetTimestamp() into an AppDomain slot (a
static call: no PowerShell feature the module does not use itself). The copy fails
loudly when a place is no longer found.

Returns one object per phase, in order, with the median milliseconds over the runs, and a
last row with the total (the last timestamp minus the process's start).

.PARAMETER ManifestPath
The module to profile (the package's SSMSession.psd1, or the source tree's).

.PARAMETER EndpointUrl
The local emulator.

.PARAMETER Runs
Fresh processes to take the median over.
#>
[CmdletBinding()]
[OutputType([pscustomobject])]
param(
    [Parameter(Mandatory)]
    [string] $ManifestPath,

    [Parameter(Mandatory)]
    [string] $EndpointUrl,

    [ValidateRange(1, 100)]
    [int] $Runs = 5
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

function Add-Mark {
    # Inserts a timestamp statement before or after the first occurrence of $Anchor.
    param([string] $Text, [string] $Anchor, [string] $Name, [switch] $After, [switch] $FirstOnly, [string] $File)
    $at = $Text.IndexOf($Anchor, [System.StringComparison]::Ordinal)
    if ($at -lt 0) { throw "Measure-SSMColdStart: '$Anchor' is no longer in $File; update the profile's marks." }
    $slot = "'SSMSession.ColdStart.$Name'"
    $statement = if ($FirstOnly) {
        "if (`$null -eq [System.AppDomain]::CurrentDomain.GetData($slot)) { [System.AppDomain]::CurrentDomain.SetData($slot, [System.Diagnostics.Stopwatch]::GetTimestamp()) }"
    } else {
        "[System.AppDomain]::CurrentDomain.SetData($slot, [System.Diagnostics.Stopwatch]::GetTimestamp())"
    }
    # An anchor that starts a line ("`nName") gets its statement on a line of its own.
    if ($Anchor.StartsWith("`n")) { $at += 1; $Anchor = $Anchor.Substring(1) }
    if ($After) {
        $end = $at + $Anchor.Length
        $Text.Substring(0, $end) + "`n" + $statement + "`n" + $Text.Substring($end)
    } else {
        $Text.Substring(0, $at) + $statement + "`n" + $Text.Substring($at)
    }
}

function Edit-ModuleFile {
    # Applies marks to one file of the copy: a list of @(anchor, name, after?, first-only?).
    param([string] $Path, [object[]] $Marks)
    $text = [System.IO.File]::ReadAllText($Path)
    foreach ($mark in $Marks) {
        $text = Add-Mark -Text $text -Anchor $mark[0] -Name $mark[1] -After:$mark[2] -FirstOnly:$mark[3] -File $Path
    }
    [System.IO.File]::WriteAllText($Path, $text, [System.Text.UTF8Encoding]::new($false))
}

$sourceFolder = Split-Path -Parent (Resolve-Path -LiteralPath $ManifestPath).ProviderPath
$copy = Join-Path ([System.IO.Path]::GetTempPath()) "ssmsession-coldstart-$PID"
$null = New-Item -ItemType Directory -Path $copy -Force
try {
    foreach ($item in Get-ChildItem -LiteralPath $sourceFolder -Force | Where-Object Name -In 'SSMSession.psd1', 'SSMSession.psm1', 'SSMSession.format.ps1xml', 'en-US', 'powershell', 'runtimes') {
        Copy-Item -LiteralPath $item.FullName -Destination $copy -Recurse
    }
    $manifest = Import-PowerShellDataFile -LiteralPath (Join-Path $copy 'SSMSession.psd1')
    $rootModule = Join-Path $copy $manifest.RootModule
    # The package merges every function into the root module; the source tree keeps one
    # file per function.
    $merged = -not (Test-Path -LiteralPath (Join-Path (Split-Path $rootModule) 'Private'))
    $find = { param($Name) if ($merged) { $rootModule } else { Join-Path (Split-Path $rootModule) "Private/$Name.ps1" } }
    $rootText = [System.IO.File]::ReadAllText($rootModule)
    $functionsAnchor = if ($rootText.Contains('#region functions')) { '#region functions' } else { '# ---- powershell/' }
    $rootMarks = @(
        , @('Set-StrictMode -Version 3.0', 'RootModuleStart', $false, $false)
        , @($functionsAnchor, 'FunctionsStart', $false, $false)
        , @("`nRegister-SSMArgumentCompleter", 'FunctionsEnd', $false, $false)
    )
    Edit-ModuleFile -Path $rootModule -Marks $rootMarks
    [System.IO.File]::AppendAllText($rootModule, "`n[System.AppDomain]::CurrentDomain.SetData('SSMSession.ColdStart.RootModuleEnd', [System.Diagnostics.Stopwatch]::GetTimestamp())`n")
    Edit-ModuleFile -Path (& $find 'Initialize-SSMNativeLibrary') -Marks @(
        , @('    $libraryPath = Get-SSMNativeLibraryPath -ModuleRoot', 'BindStart', $false, $true)
        , @('    $type = $builder.CreateType()', 'TypeCreated', $true, $true)
        , @('        $versionPointer = $type::ssm_version()', 'LibraryLoaded', $true, $true)
        , @("    `$script:SSMNativeType = `$type`n    Initialize-SSMNativeLogging", 'BindEnd', $true, $true)
    )
    Edit-ModuleFile -Path (& $find 'Invoke-SSMOperation') -Marks @(
        , @('            $json = try {', 'NativeStart', $false, $true)
        , @("                ConvertTo-SSMJson -InputObject `$body`n            }", 'Serialised', $true, $true)
        , @('                    $result = $native::ssm_call_start($bytes)', 'NativeReturned', $true, $true)
        , @('            $envelope = [Microsoft.PowerShell.Commands.JsonObject, Microsoft.PowerShell.Commands.Utility]::ConvertFromJson($text, [ref]$parseError)', 'Parsed', $true, $true)
    )

    $call = "Start-SSMSession -Target i-1 -Region eu-west-3 -EndpointUrl '$EndpointUrl' -AccessKey AKIDSSMEMULATOR -SecretKey ssm-emulator-secret-key"
    $set = { param($Name) "[System.AppDomain]::CurrentDomain.SetData('SSMSession.ColdStart.$Name', [System.Diagnostics.Stopwatch]::GetTimestamp())" }
    # The measured script, then (after the last timestamp) the report.
    $script = @"
$(& $set ScriptStart)
Import-Module '$(Join-Path $copy 'SSMSession.psd1')'
$(& $set Imported)
`$null = $call
$(& $set FirstCallDone)
`$null = $call
$(& $set SecondCallDone)
`$names = 'ScriptStart', 'RootModuleStart', 'FunctionsStart', 'FunctionsEnd', 'RootModuleEnd', 'Imported', 'BindStart', 'TypeCreated', 'LibraryLoaded', 'BindEnd', 'NativeStart', 'Serialised', 'NativeReturned', 'Parsed', 'FirstCallDone', 'SecondCallDone'
`$started = [System.Diagnostics.Process]::GetCurrentProcess().StartTime
`$sinceStart = ([datetime]::Now - `$started).TotalMilliseconds - ([System.Diagnostics.Stopwatch]::GetTimestamp() - [long][System.AppDomain]::CurrentDomain.GetData('SSMSession.ColdStart.ScriptStart')) * 1000.0 / [System.Diagnostics.Stopwatch]::Frequency
"`$sinceStart " + ((`$names | ForEach-Object { [long][System.AppDomain]::CurrentDomain.GetData("SSMSession.ColdStart.`$_") }) -join ' ')
"@
    $encoded = [Convert]::ToBase64String([System.Text.Encoding]::Unicode.GetBytes($script))
    $pwsh = Join-Path $PSHOME $(if ($IsWindows) { 'pwsh.exe' } else { 'pwsh' })
    $toMs = 1000.0 / [System.Diagnostics.Stopwatch]::Frequency
    # Phase: name, from, to (timestamp names); the first is measured from the process start.
    $phases = @(
        , @('pwsh start-up, until the script runs', $null, 'ScriptStart')
        , @('Import: manifest, format data, parse of the root module', 'ScriptStart', 'RootModuleStart')
        , @('Import: the root module''s variables', 'RootModuleStart', 'FunctionsStart')
        , @('Import: functions defined (source tree: one file dot-sourced each)', 'FunctionsStart', 'FunctionsEnd')
        , @('Import: argument completers registered', 'FunctionsEnd', 'RootModuleEnd')
        , @('Import: exports, after the root module', 'RootModuleEnd', 'Imported')
        , @('First call: PowerShell, from the call to binding the native library', 'Imported', 'BindStart')
        , @('First call: Reflection.Emit type (locate the library, define the P/Invokes)', 'BindStart', 'TypeCreated')
        , @('First call: dlopen and the first P/Invoke (ssm_version)', 'TypeCreated', 'LibraryLoaded')
        , @('First call: version and contract checks', 'LibraryLoaded', 'BindEnd')
        , @('First call: PowerShell, from the binding to the first request''s serialisation', 'BindEnd', 'NativeStart')
        , @('First call: first JSON serialisation (System.Text.Json)', 'NativeStart', 'Serialised')
        , @('First call: native core''s first call (runtime, client, HTTP)', 'Serialised', 'NativeReturned')
        , @('First call: first JSON parse (JsonObject.ConvertFromJson)', 'NativeReturned', 'Parsed')
        , @('First call: PowerShell, the rest of the first Start-SSMSession', 'Parsed', 'FirstCallDone')
        , @('Second Start-SSMSession', 'FirstCallDone', 'SecondCallDone')
    )
    $names = 'ScriptStart', 'RootModuleStart', 'FunctionsStart', 'FunctionsEnd', 'RootModuleEnd', 'Imported', 'BindStart', 'TypeCreated', 'LibraryLoaded', 'BindEnd', 'NativeStart', 'Serialised', 'NativeReturned', 'Parsed', 'FirstCallDone', 'SecondCallDone'
    $values = @{}
    foreach ($phase in $phases) { $values[$phase[0]] = [System.Collections.Generic.List[double]]::new() }
    $totals = [System.Collections.Generic.List[double]]::new()
    foreach ($run in 1..$Runs) {
        $line = & $pwsh -NoProfile -NonInteractive -EncodedCommand $encoded | Select-Object -Last 1
        if ($LASTEXITCODE -ne 0) { throw "A cold-start profile run failed: $line" }
        $fields = "$line".Trim() -split ' '
        $startUp = [double]$fields[0]
        $stamps = @{}
        for ($i = 0; $i -lt $names.Count; $i++) { $stamps[$names[$i]] = [long]$fields[$i + 1] }
        foreach ($name in $names) {
            if ($stamps[$name] -eq 0) { throw "A cold-start profile run recorded no '$name' timestamp." }
        }
        foreach ($phase in $phases) {
            $milliseconds = if ($null -eq $phase[1]) { $startUp } else { ($stamps[$phase[2]] - $stamps[$phase[1]]) * $toMs }
            $values[$phase[0]].Add($milliseconds)
        }
        $totals.Add($startUp + ($stamps['FirstCallDone'] - $stamps['ScriptStart']) * $toMs)
    }
    $median = {
        param([double[]] $Numbers)
        $sorted = @($Numbers | Sort-Object)
        $middle = [int][math]::Floor($sorted.Count / 2)
        if ($sorted.Count % 2) { $sorted[$middle] } else { ($sorted[$middle - 1] + $sorted[$middle]) / 2 }
    }
    foreach ($phase in $phases) {
        [pscustomobject]@{ Phase = $phase[0]; Milliseconds = & $median $values[$phase[0]].ToArray() }
    }
    [pscustomobject]@{ Phase = 'Total: process start to the end of the first call'; Milliseconds = & $median $totals.ToArray() }
} finally {
    Remove-Item -LiteralPath $copy -Recurse -Force -ErrorAction SilentlyContinue
}
