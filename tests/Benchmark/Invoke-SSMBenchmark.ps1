#Requires -Version 7.2
<#
.SYNOPSIS
Measures SSMSession against its anchors in the same run: the AWS .NET SDK assemblies that
AWS.Tools.SimpleSystemsManagement loads, and the session-manager-plugin's pacing.

.DESCRIPTION
Rows (each with median and spread over repetitions, ours vs the anchor, and the ratio):
import time (with an empty one-function script module in the same rounds: the goal is
its import + 50 ms), cold call (import + first Start-SSMSession in a fresh pwsh), "run one
command and get its exit code" as a user does it (Invoke-SSMSessionCommand in a fresh pwsh
and in a warm one, against the AWS CLI starting the drop-in session-manager-plugin with
AWS-StartNonInteractiveCommand; the emulator's agent in its real pacing), warm calls (plus
raw native calls, no PowerShell), parallel calls, memory growth over many calls, library
size, pwsh's peak memory while an agent floods it with messages far ahead (against the
same command from a normal agent), a download's recovery after its reader pauses (the
reader_recovery example, against the rate before the pause), and port-forwarding
throughput and latency (the port_throughput example, against the plain loopback copy).
After the table, the cold path phase by phase (Measure-SSMColdStart.ps1: fresh processes
that do nothing else, timestamps inside a copy of the module). Everything talks to the
local emulator on 127.0.0.1. Prints the tables and writes summary.json.

Benchmarks measure; they do not pass or fail. -Quick runs every row with few repetitions
(CI runs it so the benchmarks never rot).

.PARAMETER RepositoryRoot
The repository (for the built binaries, and the module when -ModulePath is not given).

.PARAMETER ModulePath
The module manifest to measure: the release package users install (build.ps1 passes
out/SSMSession/<version>/SSMSession.psd1); the source tree's SSMSession.psd1 by default.

.PARAMETER EmulatorPath
The ssm-emulator executable.

.PARAMETER OutputPath
Where summary.json goes.

.PARAMETER Quick
Few repetitions and small sizes: a smoke run.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)]
    [string] $RepositoryRoot,

    [string] $ModulePath,

    [Parameter(Mandatory)]
    [string] $EmulatorPath,

    [Parameter(Mandatory)]
    [string] $OutputPath,

    [switch] $Quick
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

$sizes = if ($Quick) {
    @{ ProcessRuns = 3; Warm = 20; WarmUp = 20; Parallel = 80; Memory = 300; ThroughputScale = 0.02; RecoveryScale = 0.25; FarAhead = 100 }
} else {
    @{ ProcessRuns = 11; Warm = 300; WarmUp = 2000; Parallel = 2000; Memory = 10000; ThroughputScale = 1.0; RecoveryScale = 1.0; FarAhead = 2000 }
}
$manifestPath = if ($ModulePath) { $ModulePath } else { Join-Path $RepositoryRoot 'SSMSession.psd1' }
$pwsh = Join-Path $PSHOME $(if ($IsWindows) { 'pwsh.exe' } else { 'pwsh' })
$accessKey = 'AKIDSSMEMULATOR'
$secretKey = 'ssm-emulator-secret-key'

function Get-AnchorAssembly {
    # The AWS .NET SDK from NuGet, as AWS.Tools.SimpleSystemsManagement ships it.
    $nugetRoot = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { [System.IO.Path]::Combine($HOME, '.nuget', 'packages') }
    $core = [System.IO.Path]::Combine($nugetRoot, 'awssdk.core', '4.1.0', 'lib', 'net8.0', 'AWSSDK.Core.dll')
    $ssm = [System.IO.Path]::Combine($nugetRoot, 'awssdk.simplesystemsmanagement', '4.0.105', 'lib', 'net8.0', 'AWSSDK.SimpleSystemsManagement.dll')
    if (-not ((Test-Path -LiteralPath $core) -and (Test-Path -LiteralPath $ssm))) {
        $scratch = Join-Path ([System.IO.Path]::GetTempPath()) "ssmsession-awssdk-$PID"
        New-Item -ItemType Directory -Force -Path $scratch | Out-Null
        try {
            Set-Content -LiteralPath (Join-Path $scratch 'fetch.csproj') -Value @'
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>net8.0</TargetFramework></PropertyGroup>
  <ItemGroup>
    <PackageDownload Include="AWSSDK.Core" Version="[4.1.0]" />
    <PackageDownload Include="AWSSDK.SimpleSystemsManagement" Version="[4.0.105]" />
  </ItemGroup>
</Project>
'@
            & dotnet restore (Join-Path $scratch 'fetch.csproj') --verbosity quiet
            if ($LASTEXITCODE -ne 0) { throw 'Could not fetch AWSSDK.Core and AWSSDK.SimpleSystemsManagement from NuGet.' }
        } finally {
            Remove-Item -LiteralPath $scratch -Recurse -Force -ErrorAction SilentlyContinue
        }
    }
    @($core, $ssm)
}

function Measure-Statistic {
    # Median and spread (min, max) of a list of numbers.
    param([double[]] $Values)
    $sorted = @($Values | Sort-Object)
    $middle = [int][math]::Floor($sorted.Count / 2)
    $median = if ($sorted.Count % 2) { $sorted[$middle] } else { ($sorted[$middle - 1] + $sorted[$middle]) / 2 }
    [pscustomobject]@{ Median = $median; Min = $sorted[0]; Max = $sorted[-1]; Count = $sorted.Count }
}

function Measure-ProcessRun {
    # Wall time in ms of `pwsh -NoProfile -NonInteractive -Command <script>` for each script,
    # the scripts taking turns (round-robin) so that a machine slowing down or speeding up
    # during the row affects them alike. Returns one list of times per script, in order.
    #
    # Each script gets a start-up profile of its own: pwsh replays, at start-up, the JIT
    # profile its previous process wrote (StartupProfileData-* under XDG_CACHE_HOME, or
    # LOCALAPPDATA on Windows), so with one shared profile each script was measured with
    # the profile of the script before it in the round (measured: an import timed right
    # after an empty module's process read 172 ms, the same import after its own kind 124
    # ms). A user running the same script again has that script's own profile; so does each
    # script here, primed by one unrecorded round.
    param([string[]] $Scripts, [int] $Runs)
    $encoded = @($Scripts | ForEach-Object { [Convert]::ToBase64String([System.Text.Encoding]::Unicode.GetBytes($_)) })
    $times = @($Scripts | ForEach-Object { , [System.Collections.Generic.List[double]]::new() })
    $profileRoot = Join-Path ([System.IO.Path]::GetTempPath()) "ssmsession-bench-profiles-$PID-$([guid]::NewGuid().ToString('N'))"
    $profileFolders = @(for ($i = 0; $i -lt $Scripts.Count; $i++) { (New-Item -ItemType Directory -Force -Path (Join-Path $profileRoot $i)).FullName })
    $savedCache = $env:XDG_CACHE_HOME
    $savedLocalAppData = $env:LOCALAPPDATA
    try {
        foreach ($run in 0..$Runs) {
            for ($i = 0; $i -lt $Scripts.Count; $i++) {
                if ($IsWindows) { $env:LOCALAPPDATA = $profileFolders[$i] } else { $env:XDG_CACHE_HOME = $profileFolders[$i] }
                $watch = [System.Diagnostics.Stopwatch]::StartNew()
                & $pwsh -NoProfile -NonInteractive -EncodedCommand $encoded[$i] | Out-Null
                $watch.Stop()
                if ($LASTEXITCODE -ne 0) { throw "A benchmark process failed (exit $LASTEXITCODE): $($Scripts[$i])" }
                # Round 0 only primes each script's start-up profile.
                if ($run -gt 0) { $times[$i].Add($watch.Elapsed.TotalMilliseconds) }
            }
        }
    } finally {
        $env:XDG_CACHE_HOME = $savedCache
        $env:LOCALAPPDATA = $savedLocalAppData
        Remove-Item -LiteralPath $profileRoot -Recurse -Force -ErrorAction SilentlyContinue
    }
    # One output object per script: the list of its times.
    foreach ($list in $times) { , $list.ToArray() }
}

function Get-PairedOverhead {
    # Per-run differences to the bare start-up of the same round (runs are interleaved),
    # so the statistic describes the script's own cost, not the machine's drift.
    param([double[]] $Times, [double[]] $Bare)
    $differences = for ($i = 0; $i -lt $Times.Count; $i++) { [math]::Max(0, $Times[$i] - $Bare[$i]) }
    Measure-Statistic $differences
}

function New-EmptyScriptModule {
    # A script module with one advanced function and a manifest: the floor of any import.
    $folder = Join-Path ([System.IO.Path]::GetTempPath()) "ssmsession-empty-module-$PID"
    $null = New-Item -ItemType Directory -Force -Path $folder
    Set-Content -LiteralPath (Join-Path $folder 'EmptyModule.psm1') -Value 'function Get-EmptyModuleValue { [CmdletBinding()] param() 1 }'
    Set-Content -LiteralPath (Join-Path $folder 'EmptyModule.psd1') -Value "@{ RootModule = 'EmptyModule.psm1'; ModuleVersion = '1.0.0'; GUID = '7d5b8f0e-3c1a-4f8e-9a52-5d9f0c2b6e41'; FunctionsToExport = @('Get-EmptyModuleValue'); CmdletsToExport = @(); VariablesToExport = @(); AliasesToExport = @() }"
    Join-Path $folder 'EmptyModule.psd1'
}

function Measure-ColdStartProfile {
    # The cold path phase by phase, median over fresh processes (Measure-SSMColdStart.ps1).
    param([int] $Runs, [string] $Url)
    & ([System.IO.Path]::Combine($PSScriptRoot, 'Measure-SSMColdStart.ps1')) -ManifestPath $manifestPath -EndpointUrl $Url -Runs $Runs
}

function Measure-CommandRun {
    # "Run one command on a node and get its exit code", as a user runs it: a fresh pwsh
    # with Invoke-SSMSessionCommand, the same in a warm pwsh, and the AWS CLI starting the
    # drop-in session-manager-plugin (AWS-StartNonInteractiveCommand), all against the
    # emulator's agent in its default real pacing. Wall times in ms.
    param([int] $Runs, [string] $Url)
    $invoke = "Invoke-SSMSessionCommand -Target i-1 -Command 'exit 3' -PassThru -Region eu-west-3 -EndpointUrl '$Url' -AccessKey $accessKey -SecretKey $secretKey"
    $fresh = "Import-Module '$manifestPath'; `$result = $invoke | Select-Object -Last 1; if (`$result.ExitCode -ne 3) { throw ""exit code `$(`$result.ExitCode)"" }"
    $freshRuns = @(Measure-ProcessRun -Scripts $fresh -Runs $Runs)[0]
    $warmScript = @"
Import-Module '$manifestPath'
`$null = $invoke
`$times = foreach (`$i in 1..$Runs) {
    `$watch = [System.Diagnostics.Stopwatch]::StartNew()
    `$result = $invoke | Select-Object -Last 1
    if (`$result.ExitCode -ne 3) { throw "exit code `$(`$result.ExitCode)" }
    `$watch.Elapsed.TotalMilliseconds
}
`$times -join ' '
"@
    $encoded = [Convert]::ToBase64String([System.Text.Encoding]::Unicode.GetBytes($warmScript))
    $warmLine = & $pwsh -NoProfile -NonInteractive -EncodedCommand $encoded | Select-Object -Last 1
    if ($LASTEXITCODE -ne 0) { throw "The warm command-run measurement failed: $warmLine" }
    $warmRuns = @("$warmLine".Trim() -split ' ' | ForEach-Object { [double]$_ })

    $cliRuns = $null
    if (Get-Command aws -CommandType Application -ErrorAction SilentlyContinue) {
        $pluginFolder = [System.IO.Path]::Combine((Split-Path $manifestPath -Parent), 'runtimes', $(if ($IsWindows) { 'win' } elseif ($IsMacOS) { 'osx' } else { 'linux' }) + '-' + ([System.Runtime.InteropServices.RuntimeInformation]::ProcessArchitecture.ToString().ToLowerInvariant()), 'native')
        $cliHome = Join-Path ([System.IO.Path]::GetTempPath()) "ssmsession-cli-home-$PID"
        $null = New-Item -ItemType Directory -Force -Path $cliHome
        try {
            $cliRuns = foreach ($run in 1..$Runs) {
                $result = Invoke-SSMTestAwsCliCommand -Command 'exit 3' -Target i-1 -EndpointUrl $Url -Region eu-west-3 -PluginFolder $pluginFolder `
                    -HomeFolder $cliHome -AccessKey $accessKey -SecretKey $secretKey
                if ($result.ExitCode -ne 0 -or $result.Output -notmatch 'Starting session') {
                    throw "The AWS CLI with the drop-in plugin failed (exit $($result.ExitCode)): $($result.Output) $($result.Errors)"
                }
                $result.Milliseconds
            }
        } finally {
            Remove-Item -LiteralPath $cliHome -Recurse -Force -ErrorAction SilentlyContinue
        }
    }
    [pscustomobject]@{ Fresh = $freshRuns; Warm = $warmRuns; Cli = $cliRuns }
}

function ConvertTo-BenchmarkRow {
    param([string] $Name, [string] $Unit, $Ours, $Anchor, [string] $AnchorName, [string] $Goal, [Nullable[bool]] $Met, [string] $Note = '')
    $ratio = if ($null -ne $Anchor -and $Anchor.Median -ne 0) { $Ours.Median / $Anchor.Median } else { $null }
    [pscustomobject]@{
        Name = $Name; Unit = $Unit; Ours = $Ours; Anchor = $Anchor; AnchorName = $AnchorName
        Ratio = $ratio; Goal = $Goal; Met = $Met; Note = $Note
    }
}

Import-Module ([System.IO.Path]::Combine($RepositoryRoot, 'tests', 'Support', 'SSMEmulator.psm1')) -Force
Import-Module ([System.IO.Path]::Combine($RepositoryRoot, 'tests', 'Support', 'AwsCli.psm1')) -Force
$anchorAssemblies = Get-AnchorAssembly
$emulator = Start-SSMEmulator -Path $EmulatorPath
$rows = [System.Collections.Generic.List[object]]::new()
try {
    $url = $emulator.Url
    $oursCall = "Start-SSMSession -Target i-1 -Region eu-west-3 -EndpointUrl '$url' -AccessKey $accessKey -SecretKey $secretKey"
    $anchorSetup = @"
Add-Type -Path '$($anchorAssemblies[0])'; Add-Type -Path '$($anchorAssemblies[1])'
`$config = [Amazon.SimpleSystemsManagement.AmazonSimpleSystemsManagementConfig]::new()
`$config.ServiceURL = '$url'; `$config.AuthenticationRegion = 'eu-west-3'
`$client = [Amazon.SimpleSystemsManagement.AmazonSimpleSystemsManagementClient]::new([Amazon.Runtime.BasicAWSCredentials]::new('$accessKey', '$secretKey'), `$config)
`$request = [Amazon.SimpleSystemsManagement.Model.StartSessionRequest]::new(); `$request.Target = 'i-1'
"@
    $anchorCall = '$null = $client.StartSessionAsync($request).GetAwaiter().GetResult()'

    # 1. Import, minus bare start-up, with an empty one-function script module in the same
    # rounds: the floor any script module pays.
    Write-Information '==> import' -InformationAction Continue
    $emptyModule = New-EmptyScriptModule
    $importScript = "Import-Module '$manifestPath'"
    $anchorImportScript = "Add-Type -Path '$($anchorAssemblies[0])'; Add-Type -Path '$($anchorAssemblies[1])'"
    $bareRuns, $emptyRuns, $importRuns, $anchorImportRuns = Measure-ProcessRun -Scripts 'exit 0', "Import-Module '$emptyModule'", $importScript, $anchorImportScript -Runs $sizes.ProcessRuns
    $bare = Measure-Statistic $bareRuns
    $emptyImport = Get-PairedOverhead $emptyRuns $bareRuns
    $oursImport = Get-PairedOverhead $importRuns $bareRuns
    $anchorImportNet = Get-PairedOverhead $anchorImportRuns $bareRuns
    $rows.Add((ConvertTo-BenchmarkRow -Name 'Import (over bare pwsh)' -Unit 'ms' -Ours $oursImport -Anchor $anchorImportNet -AnchorName 'AWSSDK.Core + AWSSDK.SimpleSystemsManagement load' `
                -Goal '<= an empty script module''s import + 50 ms' -Met ($oursImport.Median -le $emptyImport.Median + 50) `
                -Note ("bare pwsh start-up: {0:N0} ms; an empty one-function script module imports in {1:N0} ms over it (so the goal is {2:N0} ms)" -f $bare.Median, $emptyImport.Median, ($emptyImport.Median + 50))))

    # 2. Cold call: fresh process, import, one StartSession, exit.
    Write-Information '==> cold call' -InformationAction Continue
    $coldBareRuns, $coldRuns, $anchorColdRuns = Measure-ProcessRun -Scripts 'exit 0', "Import-Module '$manifestPath'; `$null = $oursCall", "$anchorSetup`n$anchorCall" -Runs $sizes.ProcessRuns
    $cold = Get-PairedOverhead $coldRuns $coldBareRuns
    $anchorCold = Get-PairedOverhead $anchorColdRuns $coldBareRuns
    # The same first call without PowerShell: how much of the cold call is the native core.
    $coldCallBinary = [System.IO.Path]::Combine($RepositoryRoot, 'target', 'release', 'examples', $(if ($IsWindows) { 'cold_call.exe' } else { 'cold_call' }))
    $nativeCold = foreach ($run in 1..$sizes.ProcessRuns) {
        $line = & $coldCallBinary
        if ($LASTEXITCODE -ne 0 -or "$line" -notmatch 'total (?<ms>[\d.]+) ms') { throw "cold_call failed: $line" }
        [double]$Matches.ms
    }
    $nativeColdMedian = (Measure-Statistic $nativeCold).Median
    $rows.Add((ConvertTo-BenchmarkRow -Name 'Cold call (over bare pwsh)' -Unit 'ms' -Ours $cold -Anchor $anchorCold -AnchorName '.NET SDK client from pwsh' `
                -Goal '<= 1/2 of the anchor' -Met ($cold.Median -le $anchorCold.Median / 2) `
                -Note ("includes the import; the native core's share (runtime, client, first call, in a fresh process): {0:N1} ms" -f $nativeColdMedian)))

    # The cold path phase by phase (fresh processes; see Measure-SSMColdStart.ps1).
    Write-Information '==> cold-start profile' -InformationAction Continue
    $coldStartPhases = @(Measure-ColdStartProfile -Runs $sizes.ProcessRuns -Url $url)

    # The user-level row: one command and its exit code.
    Write-Information '==> one command with its exit code (Invoke-SSMSessionCommand, AWS CLI)' -InformationAction Continue
    $commandRun = Measure-CommandRun -Runs $sizes.ProcessRuns -Url $url
    $freshCommand = Measure-Statistic $commandRun.Fresh
    $warmCommand = Measure-Statistic $commandRun.Warm
    $cliCommand = if ($commandRun.Cli) { Measure-Statistic $commandRun.Cli } else { $null }
    $rows.Add((ConvertTo-BenchmarkRow -Name 'One command + exit code, fresh pwsh (agent real)' -Unit 'ms' -Ours $freshCommand -Anchor $cliCommand `
                -AnchorName 'aws ssm start-session (AWS-StartNonInteractiveCommand) + drop-in plugin' -Goal '<= the AWS CLI' -Met ($null -ne $cliCommand -and $freshCommand.Median -le $cliCommand.Median) `
                -Note ("wall time of the whole process, pwsh start-up included; in a warm pwsh the same command takes {0:N1} ms ({1:N2}x the CLI). The CLI cannot report the command's exit code: it exits 0 whatever the command returned{2}" -f $warmCommand.Median, $(if ($cliCommand) { $warmCommand.Median / $cliCommand.Median } else { 0 }), $(if ($cliCommand) { '' } else { '; the AWS CLI was not found, so no anchor' }))))
    $rows.Add((ConvertTo-BenchmarkRow -Name 'One command + exit code, warm pwsh (agent real)' -Unit 'ms' -Ours $warmCommand -Anchor $cliCommand `
                -AnchorName 'the AWS CLI + drop-in plugin (a process per command)' -Goal '<= 1/2 of the AWS CLI' -Met ($null -ne $cliCommand -and $warmCommand.Median -le $cliCommand.Median / 2)))

    # 3-5. In one process: warm calls, raw native calls, parallel calls, memory.
    Write-Information '==> warm, native, parallel and memory (one pwsh)' -InformationAction Continue
    $inProcessScript = [System.IO.Path]::Combine($PSScriptRoot, 'Measure-SSMInProcess.ps1')
    $measured = (& $pwsh -NoProfile -NonInteractive -File $inProcessScript -ManifestPath $manifestPath -EndpointUrl $url `
            -AnchorCorePath $anchorAssemblies[0] -AnchorServicePath $anchorAssemblies[1] -EmulatorProcessId $emulator.Process.Id `
            -Warm $sizes.Warm -WarmUp $sizes.WarmUp -Parallel $sizes.Parallel -Memory $sizes.Memory | Select-Object -Last 1) | ConvertFrom-Json
    if ($LASTEXITCODE -ne 0) { throw 'The in-process benchmark failed.' }
    $warmOurs = Measure-Statistic $measured.Ours
    $warmAnchor = Measure-Statistic $measured.Anchor
    $raw = Measure-Statistic $measured.Raw
    $layerShare = if ($warmOurs.Median -gt 0) { ($warmOurs.Median - $raw.Median) / $warmOurs.Median } else { 0 }
    $rows.Add((ConvertTo-BenchmarkRow -Name 'Warm call (Start-SSMSession)' -Unit 'ms' -Ours $warmOurs -Anchor $warmAnchor -AnchorName '.NET SDK StartSessionAsync in the same pwsh' `
                -Goal '<= 1 ms (with $AWSHistory recording and -Select)' -Met ($warmOurs.Median -le 1) `
                -Note ("after {2:N0} warm-up calls of each (at least {3:N0}, until the JIT was done, {4} methods compiled in the last block, and our median settled); raw native call {0:N3} ms: the PowerShell layer is {1:P0} of a call" -f $raw.Median, $layerShare, $measured.WarmUpCalls, $sizes.WarmUp, $measured.WarmUpLastBlockJitted)))
    $sequentialOurs = $warmOurs.Median * $sizes.Parallel
    # CPU-bound or serialised? With C cores, a CPU-bound run takes at least (CPU used) / C.
    $cores = [Environment]::ProcessorCount
    $cpuBound = ($measured.OursParallel.PwshCpu + $measured.OursParallel.EmulatorCpu) / $cores
    $oursWindow = $measured.OursParallel.Milliseconds
    $anchorWindow = $measured.AnchorParallel.Milliseconds
    $speedUp = $sequentialOurs / $oursWindow
    $anchorSpeedUp = ($warmAnchor.Median * $sizes.Parallel) / $anchorWindow
    # The row compares speed-ups (the goal's measure); the windows are in the note.
    $rows.Add((ConvertTo-BenchmarkRow -Name "Parallel, 8 runspaces, $($sizes.Parallel) calls" -Unit 'x' `
                -Ours ([pscustomobject]@{ Median = $speedUp; Min = $speedUp; Max = $speedUp; Count = 1 }) `
                -Anchor ([pscustomobject]@{ Median = $anchorSpeedUp; Min = $anchorSpeedUp; Max = $anchorSpeedUp; Count = 1 }) `
                -AnchorName '.NET SDK, one shared client' -Goal 'speed-up >= 1.6x over sequential' -Met ($speedUp -ge 1.6) `
                -Note ("speed-up over {0} sequential warm calls (8 runspaces x {1} calls after import and warm-up, started together): the window took {2:N0} ms, the .NET SDK's {3:N0} ms. CPU during the run: pwsh {4:N0} ms, emulator {5:N0} ms; on {6} cores that alone takes {7:N0} ms of the window" -f $sizes.Parallel, [int]($sizes.Parallel / 8), $oursWindow, $anchorWindow, $measured.OursParallel.PwshCpu, $measured.OursParallel.EmulatorCpu, $cores, $cpuBound)))
    $growthMb = $measured.RssGrowth / 1MB
    $rows.Add((ConvertTo-BenchmarkRow -Name "RSS growth over $($sizes.Memory) calls" -Unit 'MB' -Ours ([pscustomobject]@{ Median = $growthMb; Min = $growthMb; Max = $growthMb; Count = 1 }) `
                -Anchor $null -AnchorName '' -Goal '< 5 MB' -Met ($growthMb -lt 5) `
                -Note ("after a warm-up that grew RSS {0:N1} MB; RSS over the run at each fifth: {1} MB; managed heap {2:N2} MB (after full GCs)" -f ($measured.WarmUpRssGrowth / 1MB), ($measured.RssCheckpoints -join ', '), ($measured.ManagedGrowth / 1MB))))

    # 6. Library size. The goal is the shipping build's (the dist profile that -Package
    # builds: fat LTO, one codegen unit, stripped); the tests' release build is bigger. The
    # dist library counts only when it is newer than every Rust source, else the row says
    # it was not measured and gives the release build's stripped size.
    $distLibrary = Get-ChildItem -Path ([System.IO.Path]::Combine($RepositoryRoot, 'target', 'dist')) -File -ErrorAction SilentlyContinue |
        Where-Object Name -In 'libssmsession.so', 'ssmsession.dll', 'libssmsession.dylib' | Select-Object -First 1
    $newestSource = Get-ChildItem -Path ([System.IO.Path]::Combine($RepositoryRoot, 'rust')) -Recurse -File -Include '*.rs', 'Cargo.toml' |
        Sort-Object LastWriteTimeUtc -Descending | Select-Object -First 1
    $distCurrent = $null -ne $distLibrary -and $distLibrary.LastWriteTimeUtc -ge $newestSource.LastWriteTimeUtc -and
        $distLibrary.LastWriteTimeUtc -ge (Get-Item -LiteralPath ([System.IO.Path]::Combine($RepositoryRoot, 'Cargo.lock'))).LastWriteTimeUtc
    $library = Get-ChildItem -Path ([System.IO.Path]::Combine($RepositoryRoot, 'runtimes', '*', 'native', '*ssmsession*')) | Select-Object -First 1
    $releaseMb = $library.Length / 1MB
    $releaseNote = 'unstripped (no strip tool found)'
    $strip = Get-Command strip -ErrorAction SilentlyContinue
    if ($strip -and -not $IsWindows) {
        $copy = Join-Path ([System.IO.Path]::GetTempPath()) "ssmsession-stripped-$PID"
        & $strip.Source -o $copy $library.FullName
        if ($LASTEXITCODE -eq 0) {
            $releaseMb = (Get-Item -LiteralPath $copy).Length / 1MB
            $releaseNote = 'stripped'
        }
        Remove-Item -LiteralPath $copy -ErrorAction SilentlyContinue
    }
    if ($distCurrent) {
        $sizeMb = $distLibrary.Length / 1MB
        $met = $sizeMb -le 15
        $sizeNote = 'the shipping (dist) build; the release build the tests use: {0:N1} MB {1}' -f $releaseMb, $releaseNote
    } else {
        $sizeMb = $releaseMb
        $met = $null
        $sizeNote = 'not measured: no shipping (dist) build newer than the sources (pwsh ./build.ps1 -Package builds one); shown: the release build the tests use, {0}' -f $releaseNote
    }
    $rows.Add((ConvertTo-BenchmarkRow -Name 'Native library size' -Unit 'MB' -Ours ([pscustomobject]@{ Median = $sizeMb; Min = $sizeMb; Max = $sizeMb; Count = 1 }) `
                -Anchor $null -AnchorName '' -Goal '<= 15 MB (shipping build)' -Met $met -Note $sizeNote))

    # 7. Peak memory of pwsh while an agent floods it with 1 MB messages numbered far ahead
    # (the emulator's i-hostile-far-ahead-N), against the same command from a normal agent,
    # in one fresh process: the peak is reset through /proc/self/clear_refs before each.
    if ($IsLinux) {
        Write-Information "==> peak RSS under a far-ahead flood of $($sizes.FarAhead) MB" -InformationAction Continue
        $floodScript = @"
Import-Module '$manifestPath'
`$p = @{ Region = 'eu-west-3'; EndpointUrl = '$url'; AccessKey = '$accessKey'; SecretKey = '$secretKey' }
function Get-PeakGrowth([scriptblock] `$Script) {
    `$peak = { [long]((Get-Content /proc/self/status | Where-Object { `$_ -like 'VmHWM:*' }) -replace '\D') }
    [GC]::Collect()
    `$clear = [System.IO.FileStream]::new('/proc/self/clear_refs', 'Open', 'Write'); `$clear.Write([byte[]](0x35), 0, 1); `$clear.Dispose()
    `$before = & `$peak; `$null = & `$Script; ((& `$peak) - `$before) / 1KB
}
`$null = Invoke-SSMSessionCommand -Target i-1 -Command 'echo warm' @p
`$normal = Get-PeakGrowth { Invoke-SSMSessionCommand -Target i-1 -Command 'echo done' @p }
`$flood = Get-PeakGrowth { Invoke-SSMSessionCommand -Target i-hostile-far-ahead-$($sizes.FarAhead) -Command 'echo done' -ErrorAction SilentlyContinue @p }
"`$normal `$flood"
"@
        $encoded = [Convert]::ToBase64String([System.Text.Encoding]::Unicode.GetBytes($floodScript))
        $measured = & $pwsh -NoProfile -NonInteractive -EncodedCommand $encoded
        if ($LASTEXITCODE -ne 0) { throw 'The far-ahead flood measurement failed.' }
        $normalMb, $floodMb = "$measured".Trim() -split ' ' | ForEach-Object { [double]$_ }
        $rows.Add((ConvertTo-BenchmarkRow -Name "Peak RSS growth, $($sizes.FarAhead) x 1 MB sent far ahead" -Unit 'MB' `
                    -Ours ([pscustomobject]@{ Median = $floodMb; Min = $floodMb; Max = $floodMb; Count = 1 }) `
                    -Anchor ([pscustomobject]@{ Median = $normalMb; Min = $normalMb; Max = $normalMb; Count = 1 }) -AnchorName 'the same command from a normal agent' `
                    -Goal '<= 32 MB over the normal command (the per-session bound)' -Met ($floodMb - $normalMb -le 32) `
                    -Note 'before the byte-bounded reorder buffer, the client kept up to 10,000 such messages (2.2 GB measured for 2,000)'))
    }
} finally {
    Stop-SSMEmulator -Emulator $emulator
}

# 8. A download through 1 KiB agent messages after its reader pauses (reader_recovery).
Write-Information '==> download recovery after a reader pause' -InformationAction Continue
$recoveryBinary = [System.IO.Path]::Combine($RepositoryRoot, 'target', 'release', 'examples', $(if ($IsWindows) { 'reader_recovery.exe' } else { 'reader_recovery' }))
$recoveryOutput = & $recoveryBinary $sizes.RecoveryScale
if ($LASTEXITCODE -ne 0) { throw 'reader_recovery failed.' }
$recovery = $recoveryOutput | Where-Object { $_ -match '^recovery after a (?<pause>\d+) s pause\s+(?<before>[\d.]+)\s+(?<after>[\d.]+)\s+(?<ratio>[\d.]+)\s+(?<first>[\d.]+) ms\s+(?<complete>\w+)$' } | Select-Object -First 1
if (-not $recovery) { throw "reader_recovery printed no result: $recoveryOutput" }
$null = $recovery -match '^recovery after a (?<pause>\d+) s pause\s+(?<before>[\d.]+)\s+(?<after>[\d.]+)\s+(?<ratio>[\d.]+)\s+(?<first>[\d.]+) ms'
$before = [double]$Matches.before
$after = [double]$Matches.after
$rows.Add((ConvertTo-BenchmarkRow -Name "Download after a $($Matches.pause) s reader pause" -Unit 'MB/s' `
            -Ours ([pscustomobject]@{ Median = $after; Min = $after; Max = $after; Count = 1 }) `
            -Anchor ([pscustomobject]@{ Median = $before; Min = $before; Max = $before; Count = 1 }) -AnchorName 'the same download before the pause' `
            -Goal '>= 50 % of the rate before the pause, in the first second' -Met ($after -ge 0.5 * $before) `
            -Note "agent: 1 KiB messages, unpaced, resends only its oldest unacknowledged message (the reference agent's discipline; i-hostile-oldest-only-0); first MB after the pause in $($Matches.first) ms"))

# 9. Port forwarding (the Rust example prints its own table; its rows are parsed here).
Write-Information '==> port forwarding throughput' -InformationAction Continue
$throughputBinary = [System.IO.Path]::Combine($RepositoryRoot, 'target', 'release', 'examples', $(if ($IsWindows) { 'port_throughput.exe' } else { 'port_throughput' }))
$output = & $throughputBinary $sizes.ThroughputScale
if ($LASTEXITCODE -ne 0) { throw 'port_throughput failed.' }
$rates = @{}
foreach ($line in $output) {
    if ($line -match '^(?<name>.+?)\s+(?<mb>[\d.]+)\s+(?<rate>[\d.]+)\s+(?<pct>[\d.]+)%\s+(?<cpu>\S+)$') {
        $rates[$Matches.name.Trim()] = [pscustomobject]@{ Rate = [double]$Matches.rate; Cpu = $Matches.cpu }
    } elseif ($line -match '^\s+(?<name>up, .+?): (?<us>[\d.]+) µs \(\+(?<added>[\d.]+) µs\)') {
        $rates["latency $($Matches.name)"] = [double]$Matches.added
    }
}
# Every forwarded row names the agent's pacing: "agent fast" (no pause, what the client can
# do) or "agent real" (AWS's agent: 1 KiB messages 1 ms apart, about 1 MB/s).
$limit = $rates['plain TCP over loopback (limit)'].Rate
$relayLimit = $rates['plain TCP through two relays (3 hops)'].Rate
$paced = $rates['up, 1 KiB paced 1 ms (plugin), agent fast'].Rate
$big = $rates['up, 32 KiB unpaced, agent fast'].Rate
$small = $rates['up, 1 KiB unpaced, agent fast'].Rate
$pacedBig = $rates['up, 32 KiB paced 1 ms, agent fast'].Rate
$bigRealAgent = $rates['up, 32 KiB unpaced, agent real'].Rate
$downReal = $rates['down, agent real (1 KiB, 1 ms)'].Rate
$downFast = $rates['down, agent fast, 32 KiB'].Rate
$single = { param($v) [pscustomobject]@{ Median = $v; Min = $v; Max = $v; Count = 1 } }
$rows.Add((ConvertTo-BenchmarkRow -Name 'Port forward up, 32 KiB chunks (agent fast)' -Unit 'MB/s' -Ours (& $single $big) -Anchor (& $single $limit) -AnchorName 'plain TCP copy over loopback' `
            -Goal '>= 100 MB/s and >= 25 % of the loopback limit' -Met ($big -ge 100 -and $big -ge 0.25 * $limit) -Note ("CPU {0} ms/MB; {1:P0} of the same 3-hop path through two plain relays ({2:N0} MB/s, no protocol)" -f $rates['up, 32 KiB unpaced, agent fast'].Cpu, ($big / $relayLimit), $relayLimit)))
$rows.Add((ConvertTo-BenchmarkRow -Name 'Port forward up, 32 KiB chunks (agent real)' -Unit 'MB/s' -Ours (& $single $bigRealAgent) -Anchor (& $single $big) -AnchorName 'the same with the agent fast' `
            -Goal '>= 50 % of the agent-fast row: pacing of the agent''s answers must not throttle uploads' -Met ($bigRealAgent -ge 0.5 * $big)))
$rows.Add((ConvertTo-BenchmarkRow -Name 'Port forward down (agent real: 1 KiB, 1 ms)' -Unit 'MB/s' -Ours (& $single $downReal) -Anchor (& $single 1.0) -AnchorName 'AWS''s agent pacing (1 KiB per ms = 1.0 MB/s)' `
            -Goal '>= 80 % of what the agent''s pacing allows' -Met ($downReal -ge 0.8) `
            -Note ("with the agent fast, 32 KiB: {0:N0} MB/s" -f $downFast)))
$rows.Add((ConvertTo-BenchmarkRow -Name 'Port forward up, 1000 messages/s (agent fast)' -Unit 'MB/s' -Ours (& $single $pacedBig) -Anchor (& $single $paced) -AnchorName 'plugin pacing (1 KiB + 1 ms)' `
            -Goal '>= 30x the plugin at the same message rate' -Met ($pacedBig -ge 30 * $paced) `
            -Note ("32 KiB messages paced 1 ms as the plugin paces its 1 KiB ones; unpaced 1 KiB chunks: {0:N1} MB/s (CPU {1} ms/MB)" -f $small, $rates['up, 1 KiB unpaced, agent fast'].Cpu)))
$latency = $rates['latency up, 32 KiB unpaced, agent fast']
$latencyReal = $rates['latency up, 32 KiB unpaced, agent real']
$rows.Add((ConvertTo-BenchmarkRow -Name 'Added round-trip latency (agent fast)' -Unit 'ms' -Ours (& $single ($latency / 1000)) -Anchor $null -AnchorName '' -Goal '<= 1 ms' -Met ($latency -le 1000) `
            -Note ("with the agent real (its 1 ms pause before each message): +{0:N1} ms" -f ($latencyReal / 1000))))

# Report.
$table = foreach ($row in $rows) {
    [pscustomobject]@{
        Row    = $row.Name
        Ours   = '{0:N2} {1} ({2:N2}-{3:N2})' -f $row.Ours.Median, $row.Unit, $row.Ours.Min, $row.Ours.Max
        Anchor = if ($row.Anchor) { '{0:N2} {1}' -f $row.Anchor.Median, $row.Unit } else { '' }
        Ratio  = if ($null -ne $row.Ratio) { '{0:N2}' -f $row.Ratio } else { '' }
        Goal   = $row.Goal
        Met    = if ($null -eq $row.Met) { 'n/a' } elseif ($row.Met) { 'yes' } else { 'NO' }
    }
}
$table | Format-Table -AutoSize -Wrap | Out-String -Width 300 | Write-Information -InformationAction Continue
foreach ($row in $rows | Where-Object Note) {
    Write-Information "$($row.Name): $($row.Note)" -InformationAction Continue
}
Write-Information 'Cold path of one fresh pwsh, phase by phase (median ms; Measure-SSMColdStart.ps1):' -InformationAction Continue
$coldStartPhases | Format-Table @{ Label = 'Phase'; Expression = { $_.Phase } }, @{ Label = 'ms'; Expression = { '{0,8:N1}' -f $_.Milliseconds } } -AutoSize -Wrap |
    Out-String -Width 300 | Write-Information -InformationAction Continue
New-Item -ItemType Directory -Force -Path (Split-Path $OutputPath -Parent) | Out-Null
[pscustomobject]@{
    Date    = [datetime]::UtcNow.ToString('o')
    Quick   = [bool]$Quick
    Machine = "$([Environment]::ProcessorCount) cores, $([System.Runtime.InteropServices.RuntimeInformation]::OSDescription)"
    Rows    = $rows
    ColdStartProfile = $coldStartPhases
} | ConvertTo-Json -Depth 6 | Set-Content -LiteralPath $OutputPath
Write-Information "Written: $OutputPath" -InformationAction Continue
