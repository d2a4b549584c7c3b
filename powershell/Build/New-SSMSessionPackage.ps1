#Requires -Version 7.2
<#
.SYNOPSIS
Builds the installable module folder: <OutputRoot>/SSMSession/<ModuleVersion>/.

.DESCRIPTION
Copies what a user needs and nothing else: the manifest (RootModule and FormatsToProcess
pointed at the package's own files, FileList filled in), the root script module with every
function under powershell/Private and powershell/Public merged into it (one file to parse:
measured ~70 ms faster to import than dot-sourcing ~40 files), the format file, the help
topics under en-US/, and the native libraries and emulators staged under
runtimes/<rid>/native/ (every runtime present there). The merged module is the same code:
each function keeps its file's text, preceded by a comment naming the source file.

Returns the package folder.

.PARAMETER RepositoryRoot
The repository (holds SSMSession.psd1, powershell/ and runtimes/).

.PARAMETER OutputRoot
Where the SSMSession folder goes (e.g. out/).

.PARAMETER RuntimesRoot
The folder holding <rid>/native/ (default: the repository's runtimes/, staged by build.ps1).
#>
[CmdletBinding()]
[OutputType([System.IO.DirectoryInfo])]
param(
    [Parameter(Mandatory)]
    [string] $RepositoryRoot,

    [Parameter(Mandatory)]
    [string] $OutputRoot,

    [string] $RuntimesRoot
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

$sourceManifest = Join-Path $RepositoryRoot 'SSMSession.psd1'
$manifest = Import-PowerShellDataFile -LiteralPath $sourceManifest
$sourceFolder = Join-Path $RepositoryRoot 'powershell'
$package = [System.IO.Path]::Combine($OutputRoot, 'SSMSession', $manifest.ModuleVersion)
if (Test-Path -LiteralPath $package) {
    Remove-Item -LiteralPath $package -Recurse -Force
}
New-Item -ItemType Directory -Force -Path $package | Out-Null

# The root module with its "functions" region replaced by the functions.
$rootModule = [System.IO.File]::ReadAllText((Join-Path $sourceFolder 'SSMSession.psm1'))
$region = [regex]::new('(?ms)^#region functions\r?\n.*?^#endregion functions\r?$')
if (-not $region.IsMatch($rootModule)) {
    throw "powershell/SSMSession.psm1 has no '#region functions' ... '#endregion functions' block to replace."
}
$functions = [System.Text.StringBuilder]::new()
foreach ($folder in 'Private', 'Public') {
    foreach ($file in [System.IO.Directory]::GetFiles((Join-Path $sourceFolder $folder), '*.ps1') | Sort-Object) {
        $null = $functions.AppendLine("# ---- powershell/$folder/$([System.IO.Path]::GetFileName($file))")
        $null = $functions.AppendLine([System.IO.File]::ReadAllText($file).TrimEnd())
        $null = $functions.AppendLine()
    }
}
$merged = $region.Replace($rootModule, { $functions.ToString().TrimEnd() }, 1)
$parseErrors = $null
$null = [System.Management.Automation.Language.Parser]::ParseInput($merged, [ref]$null, [ref]$parseErrors)
if ($parseErrors) {
    throw "The merged SSMSession.psm1 does not parse: $($parseErrors[0].Message) at line $($parseErrors[0].Extent.StartLineNumber)."
}
[System.IO.File]::WriteAllText((Join-Path $package 'SSMSession.psm1'), $merged, [System.Text.UTF8Encoding]::new($false))

Copy-Item -LiteralPath (Join-Path $sourceFolder 'SSMSession.format.ps1xml') -Destination $package
# about_ topics: Get-Help finds them in the module folder's culture folders.
foreach ($culture in Get-ChildItem -LiteralPath $sourceFolder -Directory | Where-Object Name -match '^[a-z]{2}-[A-Z]{2}$') {
    Copy-Item -LiteralPath $culture.FullName -Destination (Join-Path $package $culture.Name) -Recurse
}

if (-not $RuntimesRoot) { $RuntimesRoot = Join-Path $RepositoryRoot 'runtimes' }
$nativeFiles = @(Get-ChildItem -Path ([System.IO.Path]::Combine($RuntimesRoot, '*', 'native', '*')) -File -ErrorAction SilentlyContinue)
if ($nativeFiles.Count -eq 0) {
    throw "No native library under ${RuntimesRoot}: run 'pwsh ./build.ps1' first."
}
foreach ($library in $nativeFiles) {
    $runtimeFolder = [System.IO.Path]::Combine($package, 'runtimes', $library.Directory.Parent.Name, 'native')
    New-Item -ItemType Directory -Force -Path $runtimeFolder | Out-Null
    Copy-Item -LiteralPath $library.FullName -Destination $runtimeFolder
}

# The manifest: the source text with the package's paths, and the file list.
$fileList = @(Get-ChildItem -LiteralPath $package -Recurse -File | ForEach-Object {
        [System.IO.Path]::GetRelativePath($package, $_.FullName).Replace('\', '/')
    }) + 'SSMSession.psd1' | Sort-Object
$manifestText = [System.IO.File]::ReadAllText($sourceManifest)
$manifestText = $manifestText.Replace("'powershell/SSMSession.psm1'", "'SSMSession.psm1'").Replace("'powershell/SSMSession.format.ps1xml'", "'SSMSession.format.ps1xml'")
$fileListText = "    FileList             = @(`n" + (($fileList | ForEach-Object { "        '$_'" }) -join ",`n") + "`n    )`n"
$manifestText = [regex]::Replace($manifestText, '(?m)^(\s*PrivateData\s*=)', { $fileListText + $args[0].Groups[1].Value }, 1)
$packageManifest = Join-Path $package 'SSMSession.psd1'
[System.IO.File]::WriteAllText($packageManifest, $manifestText, [System.Text.UTF8Encoding]::new($false))
$checked = Test-ModuleManifest -Path $packageManifest
if ($checked.RootModule -ne 'SSMSession.psm1') {
    throw "The package manifest's RootModule is '$($checked.RootModule)', not SSMSession.psm1."
}
Get-Item -LiteralPath $package
