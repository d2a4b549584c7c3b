function Select-SSMResponse {
    <#
    .SYNOPSIS
    Writes what a selector from ConvertTo-SSMSelector picks out of a response.

    .DESCRIPTION
    Null values are dropped at every step and collections are enumerated, so a path that
    ends in nothing writes nothing (not $null), as in AWS Tools.

    .PARAMETER Selector
    The selector.

    .PARAMETER Response
    The StartSessionResponse object.

    .PARAMETER BoundParameters
    Start-SSMSession's bound parameters, for '^Name' selectors.
    #>
    [CmdletBinding()]
    [OutputType([object])]
    param(
        [Parameter(Mandatory)]
        [hashtable] $Selector,

        [Parameter(Mandatory)]
        [psobject] $Response,

        [Parameter(Mandatory)]
        [System.Collections.IDictionary] $BoundParameters
    )

    switch ($Selector.Kind) {
        'All' { $Response }
        'Parameter' {
            $value = $BoundParameters[$Selector.Name]
            if ($null -ne $value) { $value }
        }
        'Path' {
            $values = @($Response)
            foreach ($name in $Selector.Path) {
                $values = foreach ($value in $values) {
                    if ($null -eq $value) { continue }
                    $next = $value.$name
                    if ($next -is [System.Collections.IEnumerable] -and $next -isnot [string]) {
                        foreach ($item in $next) { $item }
                    } else {
                        $next
                    }
                }
            }
            foreach ($value in $values) {
                if ($null -ne $value) { $value }
            }
        }
    }
}
