function Assert-SSMNativeAbiVersion {
    <#
    .SYNOPSIS
    Refuses a native library that speaks another JSON contract than this module.

    .DESCRIPTION
    The library reports its contract version with ssm_abi_version; this module speaks
    $script:SSMAbiVersion. A library from another build (a stale copy in runtimes/, a
    package mixed by hand) would otherwise fail in odd ways on the first call; this says
    which versions met and what to do.

    .PARAMETER Found
    What the library's ssm_abi_version returned (1 for a library without it).

    .PARAMETER LibraryPath
    The library's path, for the message.
    #>
    [CmdletBinding()]
    [OutputType([void])]
    param(
        [Parameter(Mandatory)]
        [uint32] $Found,

        [Parameter(Mandatory)]
        [string] $LibraryPath
    )

    if ($Found -eq $script:SSMAbiVersion) { return }
    $message = "The SSMSession native library at '$LibraryPath' speaks version $Found of the module's native contract; this module needs version $($script:SSMAbiVersion). Install the library from the same release as the module (from the source tree: pwsh ./build.ps1)."
    throw ([System.Management.Automation.ErrorRecord]::new(
            [System.InvalidOperationException]::new($message),
            'SSMSession.NativeLibraryMismatch',
            [System.Management.Automation.ErrorCategory]::InvalidOperation,
            $LibraryPath))
}
